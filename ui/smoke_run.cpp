// SmokeRun: load -> send -> reply stored -> screenshot -> quit, with a deadline.
#include "smoke_run.h"

#include <QCoreApplication>
#include <QImage>
#include <QQuickWindow>
#include <QTimer>
#include <cstdio>

namespace gemdesk {

SmokeRun::SmokeRun(Services & services, QQmlApplicationEngine & qml, SmokeOptions opts,
                   QObject * parent)
    : QObject(parent), m_services(services), m_qml(qml), m_opts(std::move(opts)) {}

void SmokeRun::start() {
    connect(&m_qml, &QQmlApplicationEngine::warnings, this, [this](const QList<QQmlError> & w) {
        for (const auto & e : w)
            std::fprintf(stderr, "smoke: QML warning: %s\n", qPrintable(e.toString()));
        m_qmlWarnings += int(w.size());
    });
    connect(&m_services.model(), &ModelController::stateChanged, this, &SmokeRun::onModelState);
    connect(&m_services.chat(), &ChatController::replyFinished, this, &SmokeRun::onReplyFinished);
    QTimer::singleShot(m_opts.timeoutMs, this, [this] { finish(1, QStringLiteral("timed out")); });
    m_services.chat().setMaxTokens(m_opts.maxTokens);
}

void SmokeRun::onModelState() {
    auto & model = m_services.model();
    switch (model.state()) {
        case ModelController::State::Ready: {
            std::printf("smoke: loaded %s\n", qPrintable(model.modelName()));
            if (!m_services.chat().send(m_opts.message))
                finish(1, QStringLiteral("send failed: ") + m_services.chat().lastError());
            break;
        }
        case ModelController::State::Failed:
        case ModelController::State::Cancelled:
            finish(1, QStringLiteral("model did not load: ") + model.errorString());
            break;
        default:
            break;
    }
}

void SmokeRun::onReplyFinished(const QString & reason) {
    auto & chat = m_services.chat();
    int rows = chat.messages()->rowCount();
    const MessageItem & reply = chat.messages()->at(rows - 1);
    std::printf("smoke: reply finished (%s): %d tokens, %lld characters, chat %lld stored\n",
                qPrintable(reason), reply.completionTokens, qlonglong(reply.content.size()),
                qlonglong(chat.currentChatId()));
    if (reason == QLatin1String("error") || reply.id == 0) {
        finish(1, QStringLiteral("reply failed or was not stored: ") + reply.errorText +
                      chat.lastError());
        return;
    }
    // Let the view render the final state before grabbing it.
    QTimer::singleShot(500, this, [this] { finish(0, QString()); });
}

void SmokeRun::finish(int code, const QString & why) {
    if (m_done) return;
    m_done = true;
    if (code == 0 && m_qmlWarnings > 0) {
        code = 1;
        std::fprintf(stderr, "smoke: %d QML warnings\n", m_qmlWarnings);
    }
    if (!m_opts.screenshotPath.isEmpty() && !m_qml.rootObjects().isEmpty()) {
        auto * window = qobject_cast<QQuickWindow *>(m_qml.rootObjects().first());
        QImage shot = window ? window->grabWindow() : QImage();
        if (shot.isNull() || !shot.save(m_opts.screenshotPath))
            std::fprintf(stderr, "smoke: could not save the screenshot to %s\n",
                         qPrintable(m_opts.screenshotPath));
        else
            std::printf("smoke: screenshot %s\n", qPrintable(m_opts.screenshotPath));
    }
    if (code == 0)
        std::printf("smoke: ok\n");
    else
        std::fprintf(stderr, "smoke: FAILED: %s\n", qPrintable(why));
    std::fflush(stdout);
    QCoreApplication::exit(code);
}

}  // namespace gemdesk
