// Shared helpers for test_ui: the tiny chat model's path, temporary folders, and loading a
// ModelController on the real engine (waiting with the event loop running).
#pragma once

#include <QCoreApplication>
#include <QSignalSpy>
#include <QString>
#include <QTemporaryDir>
#include <QTest>
#include <memory>

#include "controllers/model_controller.h"

namespace gemdesk::testing {

inline QString tiny_model_dir() { return QStringLiteral(GEMMA_TEST_DATA_DIR "/tiny-gemma4-chat"); }

// The engine the UI tests run on: the scalar reference backend (deterministic, no SIMD needed).
inline gemma::runtime::EngineOptions tiny_engine_options(int n_ctx = 512) {
    gemma::runtime::EngineOptions o;
    o.backend = "cpu-ref";
    o.n_ctx = n_ctx;
    o.max_seqs = 2;
    return o;
}

// Loads the tiny model; null (after a QTest failure message) when it did not become Ready.
inline std::unique_ptr<ModelController> load_tiny_model(int n_ctx = 512) {
    auto model = std::make_unique<ModelController>(tiny_model_dir(), tiny_engine_options(n_ctx));
    model->load();
    for (int i = 0; i < 600 && model->state() == ModelController::State::Loading; ++i)
        QTest::qWait(50);
    if (model->state() != ModelController::State::Ready) {
        qWarning("tiny model did not load: %s", qPrintable(model->errorString()));
        return nullptr;
    }
    return model;
}

int run_model_controller_tests(int argc, char ** argv);
int run_chat_controller_tests(int argc, char ** argv);
int run_settings_server_tests(int argc, char ** argv);
int run_model_settings_tests(int argc, char ** argv);

}  // namespace gemdesk::testing
