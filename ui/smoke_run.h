// `gemdesk --smoke-test`: a scripted run for CI and packaging checks. Waits for the model, sends
// one message, waits for the stored reply, optionally saves a screenshot, then quits: exit code 0
// only if the window loaded without QML warnings and every step succeeded in time.
#pragma once

#include <QObject>
#include <QQmlApplicationEngine>
#include <QString>

#include "services.h"

namespace gemdesk {

struct SmokeOptions {
    QString message = QStringLiteral("Hello! Who are you?");
    QString screenshotPath;  // "" = none
    int maxTokens = 24;
    int timeoutMs = 120000;
};

class SmokeRun : public QObject {
    Q_OBJECT
public:
    SmokeRun(Services & services, QQmlApplicationEngine & qml, SmokeOptions opts,
             QObject * parent = nullptr);
    void start();  // call before loading the QML, so its warnings are seen

private:
    void onModelState();
    void onReplyFinished(const QString & reason);
    void finish(int code, const QString & why);

    Services & m_services;
    QQmlApplicationEngine & m_qml;
    SmokeOptions m_opts;
    int m_qmlWarnings = 0;
    bool m_done = false;
};

}  // namespace gemdesk
