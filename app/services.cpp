// Services: construction order, the server's ChatService, and the QML hand-over.
#include "services.h"

#include <QDir>
#include <QStandardPaths>

#include "server/engine_chat_service.h"

namespace gemdesk {

// The API server answers with the engine the app has loaded (shared with the chat window).
gemma::Result<std::shared_ptr<server::ChatService>> server_chat_service(
    std::shared_ptr<gemma::runtime::ChatEngine> engine, const ModelController & model) {
    (void)model;
    return server::make_engine_chat_service(std::move(engine));
}

QString default_db_path() {
    QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(dir).filePath(QStringLiteral("chats.db"));
}

Services::Services(const AppOptions & opts)
    : m_dbPath(opts.dbPath.isEmpty() ? default_db_path() : opts.dbPath) {
    QString storageError;
    auto store = storage::ChatStore::open(m_dbPath.toStdString());
    if (store.ok())
        m_store = std::move(*store);
    else
        storageError = QString::fromStdString(store.error().message);

    gemma::runtime::EngineOptions engine;
    engine.backend = opts.backend.toStdString();
    engine.n_ctx = opts.contextLength;
    engine.max_seqs = 4;  // the chat plus API clients
    m_model = std::make_unique<ModelController>(opts.modelDir, engine);
    m_settings = std::make_unique<SettingsController>(opts.settingsPath);
    m_server =
        std::make_unique<ServerController>(m_settings.get(), m_model.get(), server_chat_service);
    m_chat = std::make_unique<ChatController>(m_model.get(), m_settings.get(), m_store.get(),
                                              storageError);
}

Services::~Services() {
    m_chat.reset();
    m_server.reset();
    m_settings.reset();
    m_model.reset();
    m_store.reset();
}

QVariantMap Services::qmlProperties() {
    return {{"loader", QVariant::fromValue(m_model.get())},
            {"settings", QVariant::fromValue(m_settings.get())},
            {"server", QVariant::fromValue(m_server.get())},
            {"chat", QVariant::fromValue(m_chat.get())}};
}

}  // namespace gemdesk
