// gemdesk: the desktop app. Parses the command line, builds the services (app/services.cpp),
// loads the QML window with them and starts loading the model in the background.
#include <QtQml/qqmlextensionplugin.h>

#include <QCommandLineParser>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <cstdio>

#include "services.h"
#include "smoke_run.h"

Q_IMPORT_QML_PLUGIN(GemDeskPlugin)

namespace {

struct Cli {
    gemdesk::AppOptions app;
    bool smoke = false;
    gemdesk::SmokeOptions smokeOpts;
};

// Returns false (after printing why) for a bad option value.
bool parse(QGuiApplication & app, Cli & cli) {
    QCommandLineParser p;
    p.setApplicationDescription("GemDesk: a local Gemma 4 assistant.");
    p.addHelpOption();
    QCommandLineOption model("model", "Model directory (Hugging Face layout).", "dir");
    QCommandLineOption db("db", "Chat history database (default: in the user's data folder).",
                          "file");
    QCommandLineOption settings("settings", "Settings file (default: the platform's).", "file");
    QCommandLineOption backend("backend", "Compute backend: cpu, cpu-ref, cuda0, ...", "name",
                               "cpu");
    QCommandLineOption ctx("ctx", "Context length in tokens.", "n", "8192");
    QCommandLineOption smoke("smoke-test", "Load, send one message, wait for the reply, quit.");
    QCommandLineOption shot("screenshot", "With --smoke-test: save the window to FILE.", "file");
    QCommandLineOption msg("smoke-message", "With --smoke-test: the message to send.", "text");
    p.addOptions({model, db, settings, backend, ctx, smoke, shot, msg});
    p.process(app);
    cli.app.modelDir = p.value(model);
    cli.app.dbPath = p.value(db);
    cli.app.settingsPath = p.value(settings);
    cli.app.backend = p.value(backend);
    bool ok = false;
    cli.app.contextLength = p.value(ctx).toInt(&ok);
    if (!ok || cli.app.contextLength <= 0) {
        std::fprintf(stderr, "gemdesk: --ctx must be a positive number of tokens\n");
        return false;
    }
    cli.smoke = p.isSet(smoke);
    cli.smokeOpts.screenshotPath = p.value(shot);
    if (p.isSet(msg)) cli.smokeOpts.message = p.value(msg);
    return true;
}

}  // namespace

int main(int argc, char * argv[]) {
    QGuiApplication app(argc, argv);
    QGuiApplication::setOrganizationName("GemDesk");
    QGuiApplication::setApplicationName("GemDesk");
    QQuickStyle::setStyle("Fusion");
    Cli cli;
    if (!parse(app, cli)) return 2;

    gemdesk::Services services(cli.app);
    QQmlApplicationEngine engine;
    engine.addImportPath(QStringLiteral("qrc:/"));  // the GemDesk module (Qt 6.4 lacks qrc:/qt/qml)
    std::unique_ptr<gemdesk::SmokeRun> smoke;
    if (cli.smoke) {
        smoke = std::make_unique<gemdesk::SmokeRun>(services, engine, cli.smokeOpts);
        smoke->start();
    }
    engine.setInitialProperties(services.qmlProperties());
    QObject::connect(
        &engine, &QQmlApplicationEngine::objectCreationFailed, &app,
        []() { QCoreApplication::exit(1); }, Qt::QueuedConnection);
    engine.load(QUrl(QStringLiteral("qrc:/GemDesk/qml/Main.qml")));
    if (engine.rootObjects().isEmpty()) return 1;
    services.model().load();
    int code = app.exec();
    smoke.reset();
    return code;
}
