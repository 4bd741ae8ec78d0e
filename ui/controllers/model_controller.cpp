// ModelController: the worker-thread load and reload, and their queued progress / completion
// signals.
#include "controllers/model_controller.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QMetaObject>

#include "controllers/model_options.h"

Q_LOGGING_CATEGORY(lcModel, "gemdesk.model")

namespace gemdesk {

namespace {

QString describe(const gemma::runtime::EngineOptions & o) {
    ModelOptions m = model_options_of(o);
    return QStringLiteral("%1, weights %2, KV %3, %4 tokens%5")
        .arg(m.backend, m.weights, m.kvCache)
        .arg(m.contextLength)
        .arg(m.pleOnHost ? QStringLiteral(", PLE in host memory") : QString());
}

}  // namespace

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

QVariantMap ModelController::optionsMap() const {
    return model_options_to_map(model_options_of(m_opts));
}

QVariantMap ModelController::previousOptionsMap() const {
    return m_previous ? model_options_to_map(model_options_of(*m_previous)) : QVariantMap();
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
    m_error.clear();
    setState(State::Loading);
    qCInfo(lcModel).noquote() << "loading" << m_path << "(" + describe(m_opts) + ")";
    startLoader(m_opts);
}

void ModelController::startLoader(gemma::runtime::EngineOptions opts) {
    m_cancel = false;
    m_progress = 0.0;
    m_stage = tr("starting");
    emit progressChanged();
    m_loader = std::thread([this, dir = m_path.toStdString(), opts = std::move(opts)] {
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
    if (m_state != State::Loading && !m_pending) return;
    m_cancel = true;
    m_stage = tr("cancelling");
    emit progressChanged();
}

bool ModelController::reload(gemma::runtime::EngineOptions opts, bool keepServing) {
    if (m_state == State::Loading || m_pending) {
        setReloadError(tr("A model load is already running; wait for it or cancel it first."));
        return false;
    }
    if (m_path.isEmpty()) {
        setReloadError(tr("No model selected. Start GemDesk with --model DIR."));
        return false;
    }
    if (m_loader.joinable()) m_loader.join();
    m_reloadError.clear();
    if (keepServing && m_engine) {
        qCInfo(lcModel).noquote() << "reloading beside the running engine (" + describe(opts) + ")";
        m_pending = opts;
        emit reloadChanged();
        startLoader(std::move(opts));
        return true;
    }
    if (m_engine) {
        qCInfo(lcModel) << "releasing the running engine before reloading";
        m_previous = m_opts;
        m_engine.reset();  // running replies keep it alive until they end
    }
    m_opts = std::move(opts);
    m_state = State::Idle;  // load() announces the change
    emit reloadChanged();
    load();
    return true;
}

bool ModelController::reloadWith(const QVariantMap & options, bool keepServing) {
    QVariantMap merged = optionsMap();
    for (auto it = options.begin(); it != options.end(); ++it) merged.insert(it.key(), it.value());
    auto opts = engine_options_with(model_options_from_map(merged), m_opts);
    if (!opts.ok()) {
        setReloadError(tr("Cannot reload: %1").arg(QString::fromStdString(opts.error().message)));
        return false;
    }
    return reload(std::move(*opts), keepServing);
}

bool ModelController::revert() {
    if (!m_previous) return false;
    return reload(*m_previous, /*keepServing=*/true);  // keeps serving only if an engine runs
}

void ModelController::dismissReloadError() {
    if (m_reloadError.isEmpty()) return;
    m_reloadError.clear();
    emit reloadChanged();
}

void ModelController::onProgress(double fraction, QString stage) {
    if (m_state != State::Loading && !m_pending) return;
    m_progress = fraction;
    if (!m_cancel) m_stage = std::move(stage);
    emit progressChanged();
}

void ModelController::onLoadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine,
                                 gemma::Error error) {
    if (m_loader.joinable()) m_loader.join();  // it has posted its last event
    if (m_pending) {
        onReloadDone(std::move(engine), std::move(error));
        return;
    }
    if (engine && !m_cancel) {
        m_engine = std::move(engine);
        m_previous.reset();
        m_progress = 1.0;
        m_stage = tr("ready");
        emit progressChanged();
        emit reloadChanged();
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

void ModelController::onReloadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine,
                                   gemma::Error error) {
    gemma::runtime::EngineOptions opts = std::move(*m_pending);
    m_pending.reset();
    if (engine && !m_cancel) {
        m_engine = std::move(engine);  // the old one goes when its last reply ends
        m_opts = std::move(opts);
        m_previous.reset();
        m_progress = 1.0;
        m_stage = tr("ready");
        emit progressChanged();
        emit reloadChanged();
        qCInfo(lcModel).noquote() << "reloaded" << modelName() << "(" + describe(m_opts) + ")";
        setState(State::Ready);  // chats and the server move to the new engine
        emit loaded();
        return;
    }
    if (m_cancel || error.code == gemma::ErrorCode::cancelled) {
        emit reloadChanged();
        return;
    }
    setReloadError(
        tr("Could not load the model with %1: %2. The model keeps running with %3.")
            .arg(describe(opts), QString::fromStdString(error.message), describe(m_opts)));
}

void ModelController::setReloadError(const QString & message) {
    m_reloadError = message;
    qCWarning(lcModel).noquote() << message;
    emit reloadChanged();
    emit reloadFailed(message);
}

void ModelController::setState(State s) {
    m_state = s;
    emit stateChanged();
}

}  // namespace gemdesk
