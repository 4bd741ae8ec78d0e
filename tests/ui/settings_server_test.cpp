// SettingsController persistence and defaults, and ServerController running the real HttpServer
// on 127.0.0.1 over the loaded engine: waits for the model, serves HTTP, reports a busy port,
// stops when switched off.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QTemporaryDir>

#include "controllers/server_controller.h"
#include "controllers/settings_controller.h"
#include "services.h"
#include "ui_test_util.h"

namespace gemdesk::testing {

namespace {

// A loopback socket bound (and listening) on a free port; closed on destruction.
struct PortHolder {
    int fd = -1;
    int port = 0;
    PortHolder() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd, reinterpret_cast<sockaddr *>(&a), len) == 0 && ::listen(fd, 1) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
            port = ntohs(a.sin_port);
    }
    ~PortHolder() { release(); }
    void release() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

}  // namespace

class SettingsServerTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = load_tiny_model();
        QVERIFY(m_model);
    }

    void settingsHaveDefaultsAndPersist() {
        QString path = m_dir.filePath("persist.ini");
        {
            SettingsController s(path);
            QCOMPARE(s.serverEnabled(), false);
            QCOMPARE(s.serverPort(), 8080);
            QCOMPARE(s.apiToken(), QString());
            QCOMPARE(s.systemPrompt(), QString());
            QCOMPARE(s.thinkingEnabled(), false);
            QSignalSpy server(&s, &SettingsController::serverChanged);
            s.setServerEnabled(true);
            s.setServerPort(9123);
            s.setApiToken("  secret  ");
            s.setSystemPrompt("Be brief.");
            s.setThinkingEnabled(true);
            QCOMPARE(server.count(), 3);
            s.setServerPort(9123);  // unchanged: no signal
            QCOMPARE(server.count(), 3);
            s.setServerPort(70000);
            QCOMPARE(s.serverPort(), 65535);
            s.setServerPort(9123);
        }
        SettingsController again(path);
        QCOMPARE(again.serverEnabled(), true);
        QCOMPARE(again.serverPort(), 9123);
        QCOMPARE(again.apiToken(), QStringLiteral("secret"));
        QCOMPARE(again.systemPrompt(), QStringLiteral("Be brief."));
        QCOMPARE(again.thinkingEnabled(), true);
    }

    void serverRunsOverTheLoadedModelAndStops() {
        SettingsController settings(m_dir.filePath("server.ini"));
        ModelController pending(tiny_model_dir(), tiny_engine_options());
        ServerController waiting(&settings, &pending, serviceFactory());
        settings.setServerEnabled(true);
        QCOMPARE(waiting.state(), ServerController::State::WaitingForModel);

        PortHolder free_port;
        QVERIFY(free_port.port > 0);
        free_port.release();
        settings.setServerPort(free_port.port);
        settings.setApiToken("test-token-1234");
        ServerController server(&settings, m_model.get(), serviceFactory());
        QTRY_COMPARE_WITH_TIMEOUT(server.state(), ServerController::State::Running, 10000);
        QCOMPARE(server.url(), QStringLiteral("http://127.0.0.1:%1/v1").arg(free_port.port));
        QVERIFY(server.statusText().contains(QString::number(free_port.port)));

        httplib::Client client("127.0.0.1", free_port.port);
        auto health = client.Get("/health");  // needs no token
        QVERIFY(health);
        QVERIFY2(health->status == 200 || health->status == 503,
                 qPrintable(QString::number(health->status)));
        QVERIFY(health->body.find("\"status\"") != std::string::npos);
        auto models = client.Get("/v1/models");  // token required
        QVERIFY(models);
        QCOMPARE(models->status, 401);
        auto authed = client.Get("/v1/models", {{"Authorization", "Bearer test-token-1234"}});
        QVERIFY(authed);
        QCOMPARE(authed->status, 200);
        QVERIFY(authed->body.find("tiny-gemma4-chat") != std::string::npos);

        settings.setServerEnabled(false);
        QTRY_COMPARE_WITH_TIMEOUT(server.state(), ServerController::State::Off, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!httplib::Client("127.0.0.1", free_port.port).Get("/health"),
                                 10000);
    }

    void busyPortIsReported() {
        PortHolder taken;
        QVERIFY(taken.port > 0);
        SettingsController settings(m_dir.filePath("busy.ini"));
        settings.setServerPort(taken.port);
        settings.setServerEnabled(true);
        ServerController server(&settings, m_model.get(), serviceFactory());
        QTRY_COMPARE_WITH_TIMEOUT(server.state(), ServerController::State::Failed, 10000);
        QVERIFY2(server.statusText().contains(QString::number(taken.port)),
                 qPrintable(server.statusText()));
        QVERIFY(server.url().isEmpty());
    }

private:
    static ChatServiceFactory serviceFactory() { return server_chat_service; }

    QTemporaryDir m_dir;
    std::unique_ptr<ModelController> m_model;
};

int run_settings_server_tests(int argc, char ** argv) {
    SettingsServerTest t;
    return QTest::qExec(&t, argc, argv);
}

}  // namespace gemdesk::testing

#include "settings_server_test.moc"
