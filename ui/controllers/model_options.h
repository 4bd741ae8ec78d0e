// Model load options as the desktop app stores and shows them (plain strings QML can bind: backend,
// weights, KV cache, context, PLE in host memory), their defaults and validation, and the
// conversion to the engine's EngineOptions. Settings, the dialog and ModelController share these.
#pragma once

#include <QString>
#include <QStringList>
#include <QVariantMap>

#include "runtime/engine.h"

namespace gemdesk {

struct ModelOptions {
    QString backend;                             // core registry name; "" = default_backend()
    QString weights = QStringLiteral("stored");  // stored | q8_0 | q4_0
    QString kvCache = QStringLiteral("f32");     // f32 | bf16 | q8_0
    int contextLength = 8192;                    // tokens per conversation
    bool pleOnHost = false;                      // per-layer embedding table in host memory (GPU)
};

constexpr int kMinContextLength = 256;
constexpr int kMaxContextLength = 131072;

// Registered backends (gemma::backend_names()), built-ins first.
QStringList backend_choices();
QStringList weight_choices();    // {"stored", "q8_0", "q4_0"}
QStringList kv_cache_choices();  // {"f32", "bf16", "q8_0"}

// "cuda" when it is registered in this build and a device can be created on this machine, else
// "cpu". Creates (and drops) a CUDA backend once to find out: call it once and keep the answer.
QString detect_default_backend();

// Empty when `o` holds only known values; else what is wrong and the choices, one field per line.
QString model_options_problem(const ModelOptions & o);

// QVariantMap with keys backend, weights, kvCache, contextLength, pleOnHost (for QML).
QVariantMap model_options_to_map(const ModelOptions & o);
// Missing keys keep the defaults of ModelOptions; values are not checked here.
ModelOptions model_options_from_map(const QVariantMap & m);

// `base` (parallelism, caches, ...) with the five model options of `o` set. invalid_argument
// (model_options_problem's text) when a value is unknown.
gemma::Result<gemma::runtime::EngineOptions> engine_options_with(
    const ModelOptions & o, gemma::runtime::EngineOptions base);
// The model options an EngineOptions holds (the inverse of engine_options_with).
ModelOptions model_options_of(const gemma::runtime::EngineOptions & e);

}  // namespace gemdesk
