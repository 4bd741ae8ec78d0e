// ChatController on the real engine (tiny-gemma4-chat, random weights, greedy): a sent message
// streams a reply that matches what the engine itself generates for the same conversation, ends
// with a finish event and is stored in SQLite; stop cancels; history reloads and continues;
// delete removes; failures become readable messages.
#include "controllers/chat_controller.h"

#include <QTemporaryDir>

#include "controllers/chat_request.h"
#include "controllers/settings_controller.h"
#include "storage/chat_store.h"
#include "ui_test_util.h"

namespace gemdesk::testing {

namespace {

struct Streamed {
    std::string content, reasoning;
    int tool_calls = 0;
    gemma::runtime::StreamEvent last;
};

// The reference: the same request straight on the engine, read to the end.
Streamed generate_directly(gemma::runtime::ChatEngine & engine,
                           gemma::runtime::ChatGenerateRequest req) {
    req.use_prefix_cache = false;
    Streamed out;
    auto stream = engine.generate(req);
    if (!stream.ok()) {
        out.last.kind = gemma::runtime::StreamEvent::Kind::error;
        out.last.error = stream.error();
        return out;
    }
    out.last = gemma::runtime::stream_drain(**stream, [&](const gemma::runtime::StreamEvent & ev) {
        if (ev.kind == gemma::runtime::StreamEvent::Kind::content) out.content += ev.text;
        if (ev.kind == gemma::runtime::StreamEvent::Kind::reasoning) out.reasoning += ev.text;
        if (ev.kind == gemma::runtime::StreamEvent::Kind::tool_call) ++out.tool_calls;
    });
    return out;
}

}  // namespace

class ChatControllerTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = load_tiny_model();
        QVERIFY(m_model);
    }

    void init() {
        m_dbPath = m_dir.filePath(QStringLiteral("chats-%1.db").arg(++m_run));
        auto store = storage::ChatStore::open(m_dbPath.toStdString());
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        m_store = std::move(*store);
        m_settings = std::make_unique<SettingsController>(
            m_dir.filePath(QStringLiteral("settings-%1.ini").arg(m_run)));
        m_chat = makeChat();
    }

    void cleanup() {
        m_chat.reset();
        m_settings.reset();
        m_store.reset();
    }

    void sendStreamsAReplyThatIsStored() {
        m_settings->setSystemPrompt("You are terse.");
        QSignalSpy finished(m_chat.get(), &ChatController::replyFinished);
        QSignalSpy rows(m_chat->messages(), &QAbstractItemModel::dataChanged);
        QVERIFY(m_chat->canSend());
        QVERIFY(m_chat->send("Hello there"));
        QVERIFY(m_chat->busy());
        QVERIFY(!m_chat->canSend());
        QCOMPARE(m_chat->messages()->rowCount(), 2);
        QVERIFY(m_chat->messages()->at(1).streaming);
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.first().first().toString(), QStringLiteral("length"));
        QVERIFY(!m_chat->busy());
        QVERIFY(m_chat->canSend());

        const MessageItem & reply = m_chat->messages()->at(1);
        QVERIFY(!reply.streaming);
        QCOMPARE(reply.completionTokens, 8);
        QVERIFY(reply.promptTokens > 0);
        QVERIFY2(rows.count() >= 3, "the reply should arrive as several deltas, not at once");

        // What the UI shows is exactly what the engine streams for the same conversation.
        std::vector<MessageItem> history{m_chat->messages()->at(0)};
        auto ref = generate_directly(*m_model->engine(),
                                     make_chat_turn(history, {"You are terse.", false, 8, 0.0}));
        QCOMPARE(int(ref.last.kind), int(gemma::runtime::StreamEvent::Kind::finish));
        QVERIFY2(!(reply.content + reply.reasoning).isEmpty(), "the reply has text");
        QCOMPARE(reply.content, QString::fromStdString(ref.content));
        QCOMPARE(reply.reasoning, QString::fromStdString(ref.reasoning));
        QCOMPARE(int(reply.toolCalls.size()), ref.tool_calls);
        QCOMPARE(reply.promptTokens, ref.last.usage.prompt_tokens);

        // Stored: the chat (titled after the message, with its system prompt) and both messages.
        auto chats = m_store->list_chats();
        QVERIFY(chats.ok());
        QCOMPARE(int(chats->size()), 1);
        QCOMPARE((*chats)[0].id, m_chat->currentChatId());
        QCOMPARE((*chats)[0].title, std::string("Hello there"));
        QCOMPARE((*chats)[0].system_prompt, std::string("You are terse."));
        auto stored = m_store->messages(m_chat->currentChatId());
        QVERIFY(stored.ok());
        QCOMPARE(int(stored->size()), 2);
        QCOMPARE((*stored)[0].content, std::string("Hello there"));
        QCOMPARE((*stored)[1].role, std::string("assistant"));
        QCOMPARE((*stored)[1].content, ref.content);
        QCOMPARE((*stored)[1].finish_reason, std::string("length"));
        QCOMPARE((*stored)[1].completion_tokens, 8);
        QCOMPARE(m_chat->chats()->rowCount(), 1);
    }

    void stopCancelsTheReply() {
        m_chat->setMaxTokens(-1);  // would run until the context (512) is full
        QSignalSpy finished(m_chat.get(), &ChatController::replyFinished);
        QSignalSpy rows(m_chat->messages(), &QAbstractItemModel::dataChanged);
        QVERIFY(m_chat->send("Tell me a long story"));
        QVERIFY(rows.wait(30000));  // the first delta arrived: it is generating
        m_chat->stop();
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.first().first().toString(), QStringLiteral("cancelled"));
        const MessageItem & reply = m_chat->messages()->at(1);
        QVERIFY(reply.completionTokens < 400);
        QVERIFY(!m_chat->busy());
        auto stored = m_store->messages(m_chat->currentChatId());
        QVERIFY(stored.ok());
        QCOMPARE(int(stored->size()), 2);
        QCOMPARE((*stored)[1].finish_reason, std::string("cancelled"));
        QCOMPARE((*stored)[1].content, reply.content.toStdString());  // the partial reply is kept
        // The next message can go right away.
        m_chat->setMaxTokens(4);
        QVERIFY(m_chat->send("Shorter, please"));
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.last().first().toString(), QStringLiteral("length"));
    }

    void historyReloadsAndContinues() {
        QSignalSpy finished(m_chat.get(), &ChatController::replyFinished);
        QVERIFY(m_chat->send("First question"));
        QVERIFY(finished.wait(60000));
        qint64 id = m_chat->currentChatId();
        int firstPrompt = m_chat->messages()->at(1).promptTokens;
        QString firstReply = m_chat->messages()->at(1).content;

        // A fresh controller (as after a restart) lists the chat and reopens it.
        m_chat = makeChat();
        QCOMPARE(m_chat->chats()->rowCount(), 1);
        QCOMPARE(m_chat->chats()->idAt(0), id);
        QCOMPARE(m_chat->currentChatId(), qint64(-1));
        QVERIFY(m_chat->openChat(id));
        QCOMPARE(m_chat->currentTitle(), QStringLiteral("First question"));
        QCOMPARE(m_chat->messages()->rowCount(), 2);
        QCOMPARE(m_chat->messages()->at(0).content, QStringLiteral("First question"));
        QCOMPARE(m_chat->messages()->at(1).content, firstReply);

        // Continuing sends the whole history: the prompt now holds both turns.
        QSignalSpy finished2(m_chat.get(), &ChatController::replyFinished);
        QVERIFY(m_chat->send("Second question"));
        QVERIFY(finished2.wait(60000));
        QCOMPARE(m_chat->messages()->rowCount(), 4);
        QVERIFY(m_chat->messages()->at(3).promptTokens > firstPrompt + 4);
        QCOMPARE(int(m_store->messages(id)->size()), 4);

        m_chat->newChat();
        QCOMPARE(m_chat->messages()->rowCount(), 0);
        QCOMPARE(m_chat->currentChatId(), qint64(-1));
        QVERIFY(!m_chat->openChat(id + 1000));  // unknown chat: an error, not a crash
        QVERIFY(!m_chat->lastError().isEmpty());
    }

    void deleteRemovesTheChat() {
        QSignalSpy finished(m_chat.get(), &ChatController::replyFinished);
        QVERIFY(m_chat->send("To be deleted"));
        QVERIFY(finished.wait(60000));
        qint64 id = m_chat->currentChatId();
        QVERIFY(m_chat->deleteChat(id));
        QCOMPARE(m_chat->chats()->rowCount(), 0);
        QCOMPARE(m_chat->currentChatId(), qint64(-1));  // the open chat was closed
        QCOMPARE(m_chat->messages()->rowCount(), 0);
        QCOMPARE(m_store->messages(id).error().code, gemma::ErrorCode::not_found);
    }

    void contextOverflowIsAReadableError() {
        QSignalSpy errors(m_chat.get(), &ChatController::errorOccurred);
        QSignalSpy finished(m_chat.get(), &ChatController::replyFinished);
        QString tooLong = QString("many words ").repeated(600);  // far over 512 tokens
        QVERIFY(m_chat->send(tooLong));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QCOMPARE(finished.first().first().toString(), QStringLiteral("error"));
        QCOMPARE(errors.count(), 1);
        QVERIFY2(m_chat->lastError().contains("new chat"), qPrintable(m_chat->lastError()));
        QVERIFY(!m_chat->busy());
        const MessageItem & reply = m_chat->messages()->at(1);
        QCOMPARE(reply.errorText, m_chat->lastError());
        auto stored = m_store->messages(m_chat->currentChatId());
        QCOMPARE((*stored)[1].finish_reason, std::string("error"));
        QCOMPARE((*stored)[1].error, m_chat->lastError().toStdString());
    }

    void sendNeedsALoadedModel() {
        ModelController unloaded(tiny_model_dir(), tiny_engine_options());
        ChatController chat(&unloaded, m_settings.get(), m_store.get(), QString());
        QVERIFY(!chat.canSend());
        QVERIFY(!chat.send("hi"));
        QVERIFY(chat.lastError().contains("not loaded"));
        QCOMPARE(chat.messages()->rowCount(), 0);
        QVERIFY(!chat.send("   "));  // blank: nothing sent
    }

    void worksWithoutStorage() {
        ChatController chat(m_model.get(), m_settings.get(), nullptr, "disk full");
        chat.setMaxTokens(4);
        chat.setTemperature(0.0);
        QCOMPARE(chat.storageError(), QStringLiteral("disk full"));
        QSignalSpy finished(&chat, &ChatController::replyFinished);
        QVERIFY(chat.send("Hi"));
        QVERIFY(finished.wait(30000));
        QCOMPARE(chat.messages()->rowCount(), 2);
        QCOMPARE(chat.chats()->rowCount(), 0);
    }

private:
    std::unique_ptr<ChatController> makeChat() {
        auto chat = std::make_unique<ChatController>(m_model.get(), m_settings.get(), m_store.get(),
                                                     QString());
        chat->setMaxTokens(8);
        chat->setTemperature(0.0);  // greedy: random weights give a reproducible reply
        return chat;
    }

    QTemporaryDir m_dir;
    int m_run = 0;
    QString m_dbPath;
    std::unique_ptr<ModelController> m_model;
    std::unique_ptr<storage::ChatStore> m_store;
    std::unique_ptr<SettingsController> m_settings;
    std::unique_ptr<ChatController> m_chat;
};

int run_chat_controller_tests(int argc, char ** argv) {
    ChatControllerTest t;
    return QTest::qExec(&t, argc, argv);
}

}  // namespace gemdesk::testing

#include "chat_controller_test.moc"
