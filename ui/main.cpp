// gemdesk: the desktop app. Parses the command line, builds the services (app/services.cpp),
// loads the QML window with them and starts loading the model in the background (with the saved
// model settings, or the command line's for this run).
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

// Prints why and returns false when a model option's value is unknown.
bool check_model_options(const gemdesk::AppOptions & app) {
    gemdesk::ModelOptions o = gemdesk::startup_model_options(gemdesk::ModelOptions(), app);
    if (!app.backend) o.backend = QStringLiteral("cpu");  // only the given values are checked
    QString problem = gemdesk::model_options_problem(o);
    if (problem.isEmpty()) return true;
    std::fprintf(stderr, "gemdesk: %s\n", qPrintable(problem));
    return false;
}

// Returns false (after printing why) for a bad option value.
bool parse(QGuiApplication & app, Cli & cli) {
    QCommandLineParser p;
    p.setApplicationDescription(
        "GemDesk: a local Gemma 4 assistant. Model options given here apply to this run only; "
        "the Settings dialog saves them.");
    p.addHelpOption();
    QCommandLineOption model("model", "Model directory (Hugging Face layout).", "dir");
    QCommandLineOption db("db", "Chat history database (default: in the user's data folder).",
                          "file");
    QCommandLineOption settings("settings", "Settings file (default: the platform's).", "file");
    QCommandLineOption backend(
        "backend", "Compute backend: " + gemdesk::backend_choices().join(", ") + ".", "name");
    QCommandLineOption weights("weights", "Weights: stored, q8_0 or q4_0.", "type");
    QCommandLineOption kv("kv-cache", "KV cache type: f32, bf16 or q8_0.", "type");
    QCommandLineOption ctx("ctx", "Context length in tokens.", "n");
    QCommandLineOption ple("ple-host", "Keep the per-layer embedding table in host memory (GPU).");
    QCommandLineOption smoke("smoke-test", "Load, send one message, wait for the reply, quit.");
    QCommandLineOption shot("screenshot", "With --smoke-test: save the window to FILE.", "file");
    QCommandLineOption msg("smoke-message", "With --smoke-test: the message to send.", "text");
    p.addOptions({model, db, settings, backend, weights, kv, ctx, ple, smoke, shot, msg});
    p.process(app);
    cli.app.modelDir = p.value(model);
    cli.app.dbPath = p.value(db);
    cli.app.settingsPath = p.value(settings);
    if (p.isSet(backend)) cli.app.backend = p.value(backend);
    if (p.isSet(weights)) cli.app.weights = p.value(weights);
    if (p.isSet(kv)) cli.app.kvCache = p.value(kv);
    if (p.isSet(ple)) cli.app.pleOnHost = true;
    if (p.isSet(ctx)) {
        bool ok = false;
        cli.app.contextLength = p.value(ctx).toInt(&ok);
        if (!ok) cli.app.contextLength = -1;  // reported as out of range
    }
    if (!check_model_options(cli.app)) return false;
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
