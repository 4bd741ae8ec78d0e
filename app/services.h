// The desktop app's wiring: builds the chat store, the model, settings, server and chat
// controllers from the command line, and hands them to QML as initial properties (no singletons).
#pragma once

#include <QString>
#include <QVariantMap>
#include <memory>

#include "controllers/chat_controller.h"
#include "controllers/model_controller.h"
#include "controllers/server_controller.h"
#include "controllers/settings_controller.h"
#include "storage/chat_store.h"

namespace gemdesk {

struct AppOptions {
    QString modelDir;                         // --model
    QString dbPath;                           // --db; "" = <AppDataLocation>/chats.db
    QString settingsPath;                     // --settings; "" = the platform's native settings
    QString backend = QStringLiteral("cpu");  // --backend (core registry name)
    int contextLength = 8192;                 // --ctx, tokens per conversation
};

QString default_db_path();

// The ChatService the background API server answers with, over the loaded engine.
gemma::Result<std::shared_ptr<server::ChatService>> server_chat_service(
    std::shared_ptr<gemma::runtime::ChatEngine> engine, const ModelController & model);

class Services {
public:
    explicit Services(const AppOptions & opts);
    ~Services();  // chats and the server go before the model they use

    ModelController & model() { return *m_model; }
    SettingsController & settings() { return *m_settings; }
    ServerController & server() { return *m_server; }
    ChatController & chat() { return *m_chat; }
    QString dbPath() const { return m_dbPath; }

    // {"loader", "settings", "server", "chat"}: the Main.qml window's required properties.
    QVariantMap qmlProperties();

private:
    QString m_dbPath;
    std::unique_ptr<storage::ChatStore> m_store;
    std::unique_ptr<ModelController> m_model;
    std::unique_ptr<SettingsController> m_settings;
    std::unique_ptr<ServerController> m_server;
    std::unique_ptr<ChatController> m_chat;
};

}  // namespace gemdesk
