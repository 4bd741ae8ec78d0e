// The chat screen's logic: sends a message to the loaded engine, streams the reply into the
// message list (content, thinking, tool calls) through queued signals, stops it on request, and
// keeps the history in the ChatStore (list, open, delete). All of it lives on the GUI thread;
// one reader thread per reply waits on the engine's stream so the GUI never blocks.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QLoggingCategory>
#include <QObject>
#include <QString>
#include <memory>
#include <thread>

#include "controllers/model_controller.h"
#include "controllers/settings_controller.h"
#include "models/chat_list_model.h"
#include "models/message_list_model.h"
#include "storage/chat_store.h"

Q_DECLARE_LOGGING_CATEGORY(lcChat)

namespace gemdesk {

class ChatController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("built by app/services.cpp")
    Q_PROPERTY(MessageListModel * messages READ messages CONSTANT)
    Q_PROPERTY(ChatListModel * chats READ chats CONSTANT)
    Q_PROPERTY(qint64 currentChatId READ currentChatId NOTIFY currentChatChanged)
    Q_PROPERTY(QString currentTitle READ currentTitle NOTIFY currentChatChanged)
    Q_PROPERTY(bool busy READ busy NOTIFY busyChanged)
    Q_PROPERTY(bool canSend READ canSend NOTIFY busyChanged)
    Q_PROPERTY(QString lastError READ lastError NOTIFY lastErrorChanged)
    Q_PROPERTY(QString storageError READ storageError CONSTANT)
    Q_PROPERTY(int maxTokens READ maxTokens WRITE setMaxTokens NOTIFY samplingChanged)
    Q_PROPERTY(double temperature READ temperature WRITE setTemperature NOTIFY samplingChanged)
public:
    // `store` may be null (history could not be opened: `storageError` says why); chats then
    // live only until the app closes. The pointers must outlive the controller.
    ChatController(ModelController * model, SettingsController * settings,
                   storage::ChatStore * store, QString storageError, QObject * parent = nullptr);
    ~ChatController() override;  // cancels a running reply and stores what it has

    MessageListModel * messages() { return &m_messages; }
    ChatListModel * chats() { return &m_chats; }
    qint64 currentChatId() const { return m_chatId; }
    QString currentTitle() const { return m_title; }
    bool busy() const { return m_gen != nullptr; }
    bool canSend() const;
    QString lastError() const { return m_lastError; }
    QString storageError() const { return m_storageError; }
    int maxTokens() const { return m_maxTokens; }
    void setMaxTokens(int n);  // -1: until a stop token or the context is full
    double temperature() const { return m_temperature; }
    void setTemperature(double t);  // 0 = greedy; clamped to 0..2

    // Sends TEXT in the current chat (creating it on the first message). False, with lastError
    // set, when nothing was sent (empty text, model not ready, a reply still running).
    Q_INVOKABLE bool send(const QString & text);
    // Cancels the running reply; it ends with finish reason "cancelled" and is kept.
    Q_INVOKABLE void stop();
    Q_INVOKABLE void newChat();
    Q_INVOKABLE bool openChat(qint64 id);
    Q_INVOKABLE bool deleteChat(qint64 id);
    Q_INVOKABLE void clearError();
    Q_INVOKABLE void reloadChats();

signals:
    void currentChatChanged();
    void busyChanged();
    void lastErrorChanged();
    void samplingChanged();
    void replyStarted();
    void replyFinished(const QString & finishReason);  // after the reply is stored
    void errorOccurred(const QString & message);

private:
    struct Generation;

    void onStreamEvent(quint64 gen, const gemma::runtime::StreamEvent & ev);
    void finishReply();
    void updateReply(const QList<int> & roles);
    void setError(const QString & message);
    void cancelRunning();
    qint64 ensureChat(const QString & firstMessage);

    ModelController * m_model;
    SettingsController * m_settings;
    storage::ChatStore * m_store;
    QString m_storageError;
    MessageListModel m_messages;
    ChatListModel m_chats;
    qint64 m_chatId = -1;  // -1: a new chat not stored yet
    QString m_title;
    QString m_systemPrompt;  // the open chat's
    QString m_lastError;
    int m_maxTokens = -1;
    double m_temperature = 1.0;
    quint64 m_nextGen = 1;
    std::unique_ptr<Generation> m_gen;  // the running reply, if any
};

}  // namespace gemdesk
