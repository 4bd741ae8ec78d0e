// ServerController: settings + model state -> wanted server; worker status -> queued signals.
#include "controllers/server_controller.h"

#include <QLoggingCategory>
#include <QMetaObject>

Q_LOGGING_CATEGORY(lcServer, "gemdesk.server")

namespace gemdesk {

ServerController::ServerController(SettingsController * settings, ModelController * model,
                                   ChatServiceFactory factory, QObject * parent)
    : QObject(parent), m_settings(settings), m_model(model), m_factory(std::move(factory)) {
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
        m_server->set_wanted(std::nullopt);
        setStatus(State::Off, tr("Off"));
        return;
    }
    auto engine = m_model->engine();
    if (!engine) {
        m_server->set_wanted(std::nullopt);
        setStatus(State::WaitingForModel, tr("Starts when the model has loaded"));
        return;
    }
    auto service = m_factory(engine, *m_model);
    if (!service.ok()) {
        m_server->set_wanted(std::nullopt);
        setStatus(State::Failed, QString::fromStdString(service.error().message));
        return;
    }
    services::ServerWanted wanted;
    wanted.config.host = "127.0.0.1";
    wanted.config.port = m_settings->serverPort();
    wanted.config.api_key = m_settings->apiToken().toStdString();
    wanted.service = std::move(*service);
    qCInfo(lcServer) << "starting on port" << wanted.config.port;
    m_server->set_wanted(std::move(wanted));
    setStatus(State::Starting, tr("Starting…"));
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
            setStatus(State::Running,
                      tr("Running at http://127.0.0.1:%1/v1%2")
                          .arg(s.port)
                          .arg(m_settings->apiToken().isEmpty() ? tr(" (no token)")
                                                                : tr(" (token required)")));
            break;
        case S::failed:
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
