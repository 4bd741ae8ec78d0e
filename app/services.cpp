// Services: construction order, the server's ChatService, and the QML hand-over.
#include "services.h"

#include <QDir>
#include <QLoggingCategory>
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

ModelOptions startup_model_options(const ModelOptions & saved, const AppOptions & opts) {
    ModelOptions o = saved;
    if (opts.backend) o.backend = *opts.backend;
    if (opts.weights) o.weights = *opts.weights;
    if (opts.kvCache) o.kvCache = *opts.kvCache;
    if (opts.contextLength) o.contextLength = *opts.contextLength;
    if (opts.pleOnHost) o.pleOnHost = *opts.pleOnHost;
    return o;
}

gemma::Result<gemma::runtime::EngineOptions> desktop_engine_options(const ModelOptions & o) {
    gemma::runtime::EngineOptions base;
    base.max_seqs = 4;  // the chat plus API clients
    return engine_options_with(o, base);
}

Services::Services(const AppOptions & opts)
    : m_dbPath(opts.dbPath.isEmpty() ? default_db_path() : opts.dbPath) {
    QString storageError;
    auto store = storage::ChatStore::open(m_dbPath.toStdString());
    if (store.ok())
        m_store = std::move(*store);
    else
        storageError = QString::fromStdString(store.error().message);

    m_settings = std::make_unique<SettingsController>(opts.settingsPath);
    auto engine = desktop_engine_options(startup_model_options(m_settings->modelOptions(), opts));
    if (!engine.ok()) {  // main() checks the command line first; the saved settings are valid
        qCWarning(lcSettings).noquote() << "ignoring the command line's model options:"
                                        << QString::fromStdString(engine.error().message);
        engine = desktop_engine_options(m_settings->modelOptions());
    }
    m_model = std::make_unique<ModelController>(
        opts.modelDir, engine.ok() ? *engine : gemma::runtime::EngineOptions{});
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
