// Runs the background API server (app/services/background_server.h) on 127.0.0.1 over the loaded
// engine when the settings say so, and shows its state: off, starting, running at URL, or failed.
// It starts once the model has loaded; across model reloads it keeps running and answers 503
// while no engine is loaded (services/swappable_chat_service.h).
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QObject>
#include <QString>
#include <functional>
#include <memory>
#include <optional>

#include "controllers/model_controller.h"
#include "controllers/settings_controller.h"
#include "services/background_server.h"
#include "services/swappable_chat_service.h"

namespace gemdesk {

// Makes the ChatService the server answers with, over the loaded engine.
using ChatServiceFactory = std::function<gemma::Result<std::shared_ptr<server::ChatService>>(
    std::shared_ptr<gemma::runtime::ChatEngine>, const ModelController &)>;

class ServerController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("built by app/services.cpp")
    Q_PROPERTY(State state READ state NOTIFY statusChanged)
    Q_PROPERTY(QString statusText READ statusText NOTIFY statusChanged)
    Q_PROPERTY(QString url READ url NOTIFY statusChanged)
public:
    enum class State { Off, WaitingForModel, Starting, Running, Failed };
    Q_ENUM(State)

    ServerController(SettingsController * settings, ModelController * model,
                     ChatServiceFactory factory, QObject * parent = nullptr);
    ~ServerController() override;

    State state() const { return m_state; }
    QString statusText() const { return m_text; }
    QString url() const;

signals:
    void statusChanged();

private:
    void apply();
    bool updateTarget();  // false (status Failed) when no service could be made
    QString runningText() const;
    void onStatus(services::ServerStatus status);
    void setStatus(State state, QString text);

    SettingsController * m_settings;
    ModelController * m_model;
    ChatServiceFactory m_factory;
    State m_state = State::Off;
    QString m_text;
    int m_port = 0;
    std::shared_ptr<services::SwappableChatService> m_service;
    std::shared_ptr<gemma::runtime::ChatEngine> m_served;  // the engine m_service forwards to
    std::optional<server::ServerConfig> m_asked;           // the configuration the server was given
    std::unique_ptr<services::BackgroundServer> m_server;
};

}  // namespace gemdesk
