// gemdesk: the desktop app. Loads the QML UI; the chat UI arrives with its own issue.
#include <QCommandLineParser>
#include <QGuiApplication>
#include <QQmlApplicationEngine>
#include <QQmlContext>

int main(int argc, char * argv[]) {
    QGuiApplication app(argc, argv);
    QGuiApplication::setApplicationName("GemDesk");
    QCommandLineParser parser;
    parser.addHelpOption();
    QCommandLineOption model_opt("model", "Model directory (Hugging Face layout).", "dir");
    parser.addOption(model_opt);
    parser.process(app);

    QQmlApplicationEngine engine;
    engine.rootContext()->setContextProperty("modelPath", parser.value(model_opt));
    QObject::connect(&engine, &QQmlApplicationEngine::objectCreationFailed, &app,
                     []() { QCoreApplication::exit(1); }, Qt::QueuedConnection);
    engine.load(QUrl(QStringLiteral("qrc:/GemDesk/qml/Main.qml")));
    return app.exec();
}
