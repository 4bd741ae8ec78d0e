// ServerController: settings + model state -> wanted server and the engine it forwards to;
// worker status -> queued signals.
#include "controllers/server_controller.h"

#include <QLoggingCategory>
#include <QMetaObject>

Q_LOGGING_CATEGORY(lcServer, "gemdesk.server")

namespace gemdesk {

ServerController::ServerController(SettingsController * settings, ModelController * model,
                                   ChatServiceFactory factory, QObject * parent)
    : QObject(parent),
      m_settings(settings),
      m_model(model),
      m_factory(std::move(factory)),
      m_service(std::make_shared<services::SwappableChatService>()) {
    m_server =
        std::make_unique<services::BackgroundServer>([this](const services::ServerStatus & s) {
            QMetaObject::invokeMethod(
                this, [this, s] { onStatus(s); }, Qt::QueuedConnection);
        });
    connect(m_settings, &SettingsController::serverChanged, this, &ServerController::apply);
    connect(m_model, &ModelController::stateChanged, this, &ServerController::apply);
    m_text = tr("Off");
    apply();
}

ServerController::~ServerController() { m_server.reset(); }  // joins before members go

QString ServerController::url() const {
    return m_state == State::Running ? QStringLiteral("http://127.0.0.1:%1/v1").arg(m_port)
                                     : QString();
}

void ServerController::apply() {
    if (!m_settings->serverEnabled()) {
        m_asked.reset();
        m_server->set_wanted(std::nullopt);
        setStatus(State::Off, tr("Off"));
        return;
    }
    if (!updateTarget()) {
        m_asked.reset();
        m_server->set_wanted(std::nullopt);
        return;
    }
    if (!m_served && !m_asked) {
        setStatus(State::WaitingForModel, tr("Starts when the model has loaded"));
        return;
    }
    server::ServerConfig config;
    config.host = "127.0.0.1";
    config.port = m_settings->serverPort();
    config.api_key = m_settings->apiToken().toStdString();
    if (m_asked && m_asked->port == config.port && m_asked->api_key == config.api_key) {
        if (m_state == State::Running) setStatus(State::Running, runningText());
        return;  // only the engine changed: the server keeps running
    }
    m_asked = config;
    services::ServerWanted wanted;
    wanted.config = std::move(config);
    wanted.service = m_service;
    qCInfo(lcServer) << "starting on port" << wanted.config.port;
    m_server->set_wanted(std::move(wanted));
    setStatus(State::Starting, tr("Starting…"));
}

bool ServerController::updateTarget() {
    auto engine = m_model->engine();
    if (!engine) {
        m_served.reset();
        bool loading = m_model->state() == ModelController::State::Loading;
        m_service->set_no_target(
            loading ? server::ServiceState::loading : server::ServiceState::unavailable,
            loading ? "the model is loading; retry in a few seconds"
                    : "no model is loaded: " + m_model->errorString().toStdString());
        return true;
    }
    if (engine == m_served) return true;
    m_served.reset();
    auto service = m_factory(engine, *m_model);
    if (!service.ok()) {
        m_service->set_no_target(server::ServiceState::unavailable, service.error().message);
        setStatus(State::Failed, QString::fromStdString(service.error().message));
        return false;
    }
    m_service->set_target(std::move(*service));
    m_served = std::move(engine);
    return true;
}

QString ServerController::runningText() const {
    QString text =
        tr("Running at http://127.0.0.1:%1/v1%2")
            .arg(m_port)
            .arg(m_settings->apiToken().isEmpty() ? tr(" (no token)") : tr(" (token required)"));
    if (!m_served) text += tr("; no model is loaded, requests get 503 until one is");
    return text;
}

void ServerController::onStatus(services::ServerStatus s) {
    using S = services::ServerStatus::State;
    if (!m_settings->serverEnabled() && s.state != S::off) return;  // a stale report
    switch (s.state) {
        case S::off:
            if (m_state == State::Starting || m_state == State::Running) return;  // restarting
            break;
        case S::starting:
            setStatus(State::Starting, tr("Starting…"));
            break;
        case S::running:
            m_port = s.port;
            setStatus(State::Running, runningText());
            break;
        case S::failed:
            m_asked.reset();  // the next apply() tries again
            setStatus(State::Failed,
                      tr("Could not start: %1").arg(QString::fromStdString(s.message)));
            qCWarning(lcServer).noquote() << m_text;
            break;
    }
}

void ServerController::setStatus(State state, QString text) {
    if (state == m_state && text == m_text) return;
    m_state = state;
    m_text = std::move(text);
    emit statusChanged();
}

}  // namespace gemdesk
