// ModelController: the worker-thread load and its queued progress / completion signals.
#include "controllers/model_controller.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QMetaObject>

Q_LOGGING_CATEGORY(lcModel, "gemdesk.model")

namespace gemdesk {

ModelController::ModelController(QString modelPath, gemma::runtime::EngineOptions opts,
                                 QObject * parent)
    : QObject(parent), m_path(std::move(modelPath)), m_opts(std::move(opts)) {}

ModelController::~ModelController() {
    m_cancel = true;
    if (m_loader.joinable()) m_loader.join();
}

QString ModelController::modelName() const {
    if (m_engine) return QString::fromStdString(m_engine->info().id);
    return QFileInfo(QDir::cleanPath(m_path)).fileName();
}

int ModelController::contextLength() const {
    return m_engine ? m_engine->info().context_length : 0;
}

void ModelController::load() {
    if (m_state == State::Loading || m_state == State::Ready) return;
    if (m_loader.joinable()) m_loader.join();  // the previous, finished attempt
    if (m_path.isEmpty()) {
        m_error =
            tr("No model selected. Start GemDesk with --model DIR, where DIR is a Gemma 4 "
               "model folder (config.json, model.safetensors, tokenizer).");
        setState(State::Failed);
        return;
    }
    m_cancel = false;
    m_error.clear();
    m_progress = 0.0;
    m_stage = tr("starting");
    emit progressChanged();
    setState(State::Loading);
    qCInfo(lcModel) << "loading" << m_path << "on" << backend();
    m_loader = std::thread([this, dir = m_path.toStdString(), opts = m_opts] {
        auto progress = [this](const gemma::runtime::LoadProgress & p) {
            QMetaObject::invokeMethod(
                this,
                [this, f = p.fraction, s = QString::fromStdString(p.stage)] { onProgress(f, s); },
                Qt::QueuedConnection);
            return !m_cancel.load();
        };
        auto result = gemma::runtime::ChatEngine::load(dir, opts, progress);
        std::shared_ptr<gemma::runtime::ChatEngine> engine;
        gemma::Error error;
        if (result.ok())
            engine = std::move(*result);
        else
            error = result.error();
        QMetaObject::invokeMethod(
            this, [this, engine, error] { onLoadDone(engine, error); }, Qt::QueuedConnection);
    });
}

void ModelController::cancelLoad() {
    if (m_state != State::Loading) return;
    m_cancel = true;
    m_stage = tr("cancelling");
    emit progressChanged();
}

void ModelController::onProgress(double fraction, QString stage) {
    if (m_state != State::Loading) return;
    m_progress = fraction;
    if (!m_cancel) m_stage = std::move(stage);
    emit progressChanged();
}

void ModelController::onLoadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine,
                                 gemma::Error error) {
    if (m_loader.joinable()) m_loader.join();  // it has posted its last event
    if (engine && !m_cancel) {
        m_engine = std::move(engine);
        m_progress = 1.0;
        m_stage = tr("ready");
        emit progressChanged();
        qCInfo(lcModel) << "loaded" << modelName();
        setState(State::Ready);
        emit loaded();
        return;
    }
    if (m_cancel || error.code == gemma::ErrorCode::cancelled) {
        m_error = tr("Loading was cancelled.");
        setState(State::Cancelled);
        return;
    }
    m_error =
        tr("Cannot load the model in '%1': %2").arg(m_path, QString::fromStdString(error.message));
    qCWarning(lcModel).noquote() << m_error;
    setState(State::Failed);
}

void ModelController::setState(State s) {
    m_state = s;
    emit stateChanged();
}

}  // namespace gemdesk
