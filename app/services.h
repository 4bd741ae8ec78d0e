// The desktop app's wiring: builds the chat store, the model, settings, server and chat
// controllers from the command line and the saved settings, and hands them to QML as initial
// properties (no singletons).
#pragma once

#include <QString>
#include <QVariantMap>
#include <memory>
#include <optional>

#include "controllers/chat_controller.h"
#include "controllers/model_controller.h"
#include "controllers/server_controller.h"
#include "controllers/settings_controller.h"
#include "storage/chat_store.h"

namespace gemdesk {

struct AppOptions {
    QString modelDir;      // --model
    QString dbPath;        // --db; "" = <AppDataLocation>/chats.db
    QString settingsPath;  // --settings; "" = the platform's native settings
    // Model options given on the command line (--backend, --weights, --kv-cache, --ctx,
    // --ple-host): they override the saved model settings for this run and are not saved.
    std::optional<QString> backend, weights, kvCache;
    std::optional<int> contextLength;
    std::optional<bool> pleOnHost;
};

QString default_db_path();

// The saved model settings with the command line's overrides applied.
ModelOptions startup_model_options(const ModelOptions & saved, const AppOptions & opts);
// The EngineOptions the desktop app loads with: the chat plus API clients in parallel.
// invalid_argument naming the bad value (model_options_problem) when one is unknown.
gemma::Result<gemma::runtime::EngineOptions> desktop_engine_options(const ModelOptions & o);

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
