// ChatController: sending, streaming (reader thread -> queued events), stopping, and history.
#include "controllers/chat_controller.h"

#include <QLoggingCategory>
#include <QMetaObject>
#include <QVariantMap>
#include <algorithm>
#include <chrono>

#include "controllers/chat_request.h"

Q_LOGGING_CATEGORY(lcChat, "gemdesk.chat")

namespace gemdesk {

using gemma::runtime::StreamEvent;

// One reply in flight. `row` is its row in m_messages while its chat is on screen, else -1.
struct ChatController::Generation {
    quint64 id = 0;
    qint64 chatId = -1;
    int row = -1;
    MessageItem reply;
    std::shared_ptr<gemma::runtime::ChatEngine> engine;  // outlives `stream`
    std::shared_ptr<gemma::runtime::ResponseStream> stream;
    std::thread reader;

    ~Generation() {
        if (stream) stream->cancel();
        if (reader.joinable()) reader.join();
        stream.reset();  // before the engine goes
    }
};

namespace {

QString chat_title(const QString & text) {
    QString t = text.simplified();
    return t.size() > 60 ? t.left(57) + QStringLiteral("…") : t;
}

// Reads the stream until its last event, posting each event to the GUI thread.
void read_stream(quint64 gen, std::shared_ptr<gemma::runtime::ResponseStream> stream,
                 const std::function<void(quint64, StreamEvent)> & post) {
    for (;;) {
        StreamEvent ev;
        if (!stream->next(ev, std::chrono::milliseconds(200))) {
            if (!stream->ended()) continue;
            ev.kind = StreamEvent::Kind::error;  // ended without a last event: report it
            ev.error =
                gemma::make_error(gemma::ErrorCode::internal, "the reply stream ended early");
        }
        bool last = ev.kind == StreamEvent::Kind::finish || ev.kind == StreamEvent::Kind::error;
        if (ev.kind != StreamEvent::Kind::token) post(gen, std::move(ev));
        if (last) return;
    }
}

}  // namespace

ChatController::ChatController(ModelController * model, SettingsController * settings,
                               storage::ChatStore * store, QString storageError, QObject * parent)
    : QObject(parent),
      m_model(model),
      m_settings(settings),
      m_store(store),
      m_storageError(std::move(storageError)) {
    connect(m_model, &ModelController::stateChanged, this, &ChatController::busyChanged);
    reloadChats();
}

ChatController::~ChatController() {
    if (!m_gen) return;
    m_gen->stream->cancel();
    if (m_gen->reader.joinable()) m_gen->reader.join();
    // Queued events are dropped with this object; keep what arrived so far.
    m_gen->reply.streaming = false;
    if (m_gen->reply.finishReason.isEmpty())
        m_gen->reply.finishReason = QStringLiteral("cancelled");
    if (m_store && m_gen->chatId >= 0)
        (void)m_store->append_message(m_gen->chatId, message_item_to_stored(m_gen->reply));
}

bool ChatController::canSend() const {
    return !m_gen && m_model->state() == ModelController::State::Ready;
}

void ChatController::setMaxTokens(int n) {
    n = n < -1 ? -1 : n;
    if (n == m_maxTokens) return;
    m_maxTokens = n;
    emit samplingChanged();
}

void ChatController::setTemperature(double t) {
    t = std::clamp(t, 0.0, 2.0);
    if (t == m_temperature) return;
    m_temperature = t;
    emit samplingChanged();
}

qint64 ChatController::ensureChat(const QString & firstMessage) {
    if (m_chatId >= 0 || !m_store) return m_chatId;
    auto id =
        m_store->create_chat(chat_title(firstMessage).toStdString(), m_systemPrompt.toStdString());
    if (!id.ok()) {
        setError(tr("Could not save the chat: %1").arg(QString::fromStdString(id.error().message)));
        return -1;
    }
    m_chatId = *id;
    m_title = chat_title(firstMessage);
    emit currentChatChanged();
    return m_chatId;
}

bool ChatController::send(const QString & text) {
    if (text.trimmed().isEmpty()) return false;
    if (m_gen) {
        setError(tr("Wait for the current reply to finish, or stop it first."));
        return false;
    }
    auto engine = m_model->engine();
    if (!engine) {
        setError(tr("The model is not loaded yet."));
        return false;
    }
    clearError();
    if (m_messages.rowCount() == 0) m_systemPrompt = m_settings->systemPrompt();
    ensureChat(text);
    MessageItem user;
    user.role = QStringLiteral("user");
    user.content = text;
    if (m_store && m_chatId >= 0) {
        auto id = m_store->append_message(m_chatId, message_item_to_stored(user));
        if (id.ok())
            user.id = *id;
        else
            setError(tr("Could not save the message: %1")
                         .arg(QString::fromStdString(id.error().message)));
    }
    m_messages.append(user);

    ChatTurnOptions opts{m_systemPrompt, m_settings->thinkingEnabled(), m_maxTokens, m_temperature};
    auto req = make_chat_turn(m_messages.items(), opts);
    auto gen = std::make_unique<Generation>();
    gen->id = m_nextGen++;
    gen->chatId = m_chatId;
    gen->engine = engine;
    gen->reply.role = QStringLiteral("assistant");
    gen->reply.streaming = true;
    gen->row = m_messages.append(gen->reply);
    auto stream = engine->generate(req);
    m_gen = std::move(gen);
    emit busyChanged();
    emit replyStarted();
    if (!stream.ok()) {
        StreamEvent ev;
        ev.kind = StreamEvent::Kind::error;
        ev.error = stream.error();
        onStreamEvent(m_gen->id, ev);
        return true;  // the message was sent; the reply shows the error
    }
    m_gen->stream = std::move(*stream);
    auto post = [this](quint64 id, StreamEvent ev) {
        QMetaObject::invokeMethod(
            this, [this, id, ev = std::move(ev)] { onStreamEvent(id, ev); }, Qt::QueuedConnection);
    };
    m_gen->reader = std::thread(read_stream, m_gen->id, m_gen->stream, post);
    return true;
}

void ChatController::onStreamEvent(quint64 gen, const StreamEvent & ev) {
    if (!m_gen || m_gen->id != gen) return;
    MessageItem & r = m_gen->reply;
    switch (ev.kind) {
        case StreamEvent::Kind::content:
            r.content += QString::fromStdString(ev.text);
            updateReply({MessageListModel::ContentRole});
            break;
        case StreamEvent::Kind::reasoning:
            r.reasoning += QString::fromStdString(ev.text);
            updateReply({MessageListModel::ReasoningRole});
            break;
        case StreamEvent::Kind::tool_call:
            r.toolCalls.append(
                QVariantMap{{"id", QString::fromStdString(ev.tool_call.id)},
                            {"name", QString::fromStdString(ev.tool_call.name)},
                            {"arguments", QString::fromStdString(ev.tool_call.arguments)}});
            updateReply({MessageListModel::ToolCallsRole});
            break;
        case StreamEvent::Kind::finish:
            r.finishReason = QString::fromLatin1(gemma::runtime::finish_reason_name(ev.finish));
            r.promptTokens = ev.usage.prompt_tokens;
            r.completionTokens = ev.usage.completion_tokens;
            finishReply();
            break;
        case StreamEvent::Kind::error:
            r.finishReason = QStringLiteral("error");
            r.errorText = readable_generation_error(ev.error);
            qCWarning(lcChat).noquote() << "generation failed:" << r.errorText;
            setError(r.errorText);
            finishReply();
            break;
        case StreamEvent::Kind::token:
            break;
    }
}

void ChatController::updateReply(const QList<int> & roles) {
    if (m_gen->row < 0) return;
    m_messages.update(m_gen->row, roles, [&](MessageItem & m) { m = m_gen->reply; });
}

void ChatController::finishReply() {
    std::unique_ptr<Generation> gen = std::move(m_gen);
    if (gen->reader.joinable()) gen->reader.join();  // it posted its last event already
    gen->reply.streaming = false;
    QString reason = gen->reply.finishReason;
    if (m_store && gen->chatId >= 0) {
        auto id = m_store->append_message(gen->chatId, message_item_to_stored(gen->reply));
        if (id.ok())
            gen->reply.id = *id;
        else
            setError(
                tr("Could not save the reply: %1").arg(QString::fromStdString(id.error().message)));
    }
    if (gen->row >= 0 && gen->chatId == m_chatId)
        m_messages.update(gen->row, {}, [&](MessageItem & m) { m = gen->reply; });
    else if (gen->chatId == m_chatId && gen->chatId >= 0)
        openChat(m_chatId);  // came back to it meanwhile: show the stored reply
    gen.reset();
    reloadChats();
    emit busyChanged();
    emit replyFinished(reason);
}

void ChatController::stop() {
    if (m_gen && m_gen->stream) m_gen->stream->cancel();
}

void ChatController::cancelRunning() {
    if (!m_gen) return;
    stop();
    m_gen->row = -1;  // keeps streaming into its chat, no longer on screen
}

void ChatController::newChat() {
    cancelRunning();
    m_messages.reset({});
    m_chatId = -1;
    m_title.clear();
    m_systemPrompt = m_settings->systemPrompt();
    clearError();
    emit currentChatChanged();
}

bool ChatController::openChat(qint64 id) {
    if (!m_store) return false;
    auto chat = m_store->chat(id);
    auto msgs = chat.ok() ? m_store->messages(id)
                          : gemma::Result<std::vector<storage::StoredMessage>>(chat.error());
    if (!msgs.ok()) {
        setError(
            tr("Could not open the chat: %1").arg(QString::fromStdString(msgs.error().message)));
        return false;
    }
    if (m_gen && m_gen->chatId != id) cancelRunning();
    std::vector<MessageItem> items;
    for (const auto & m : *msgs) items.push_back(message_item_from_stored(m));
    if (m_gen && m_gen->chatId == id) {  // its reply is still streaming: show it live
        m_gen->row = int(items.size());
        items.push_back(m_gen->reply);
    }
    m_messages.reset(std::move(items));
    m_chatId = id;
    m_title = QString::fromStdString(chat->title);
    m_systemPrompt = QString::fromStdString(chat->system_prompt);
    emit currentChatChanged();
    return true;
}

bool ChatController::deleteChat(qint64 id) {
    if (!m_store) return false;
    if (m_gen && m_gen->chatId == id) {
        cancelRunning();
        m_gen->chatId = -1;  // nothing left to store it in
    }
    auto st = m_store->delete_chat(id);
    if (!st.ok()) {
        setError(
            tr("Could not delete the chat: %1").arg(QString::fromStdString(st.error().message)));
        return false;
    }
    if (id == m_chatId) newChat();
    reloadChats();
    return true;
}

void ChatController::reloadChats() {
    if (!m_store) return;
    auto chats = m_store->list_chats();
    if (!chats.ok()) {
        setError(tr("Could not read the chat list: %1")
                     .arg(QString::fromStdString(chats.error().message)));
        return;
    }
    m_chats.reset(std::move(*chats));
}

void ChatController::setError(const QString & message) {
    m_lastError = message;
    emit lastErrorChanged();
    emit errorOccurred(message);
}

void ChatController::clearError() {
    if (m_lastError.isEmpty()) return;
    m_lastError.clear();
    emit lastErrorChanged();
}

}  // namespace gemdesk
