// Loads the model in the background (ChatEngine::load on a worker thread) and tells QML how far
// it got; the load can be cancelled. Owns the loaded engine, shared with chats and the server.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QLoggingCategory>
#include <QObject>
#include <QString>
#include <atomic>
#include <memory>
#include <thread>

#include "runtime/engine_chat.h"

Q_DECLARE_LOGGING_CATEGORY(lcModel)

namespace gemdesk {

class ModelController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("built by app/services.cpp")
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(double progress READ progress NOTIFY progressChanged)
    Q_PROPERTY(QString stage READ stage NOTIFY progressChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY stateChanged)
    Q_PROPERTY(QString modelPath READ modelPath CONSTANT)
    Q_PROPERTY(QString modelName READ modelName NOTIFY stateChanged)
    Q_PROPERTY(QString backend READ backend CONSTANT)
    Q_PROPERTY(int contextLength READ contextLength NOTIFY stateChanged)
public:
    enum class State { Idle, Loading, Ready, Failed, Cancelled };
    Q_ENUM(State)

    // `opts` are passed to ChatEngine::load as they are.
    ModelController(QString modelPath, gemma::runtime::EngineOptions opts,
                    QObject * parent = nullptr);
    ~ModelController() override;  // cancels a running load and waits for it

    State state() const { return m_state; }
    double progress() const { return m_progress; }
    QString stage() const { return m_stage; }
    QString errorString() const { return m_error; }
    QString modelPath() const { return m_path; }
    QString modelName() const;
    QString backend() const { return QString::fromStdString(m_opts.backend); }
    int contextLength() const;

    // Null until state() is Ready.
    std::shared_ptr<gemma::runtime::ChatEngine> engine() const { return m_engine; }

    // Starts loading (from Idle, Failed or Cancelled); no-op while loading or ready.
    Q_INVOKABLE void load();
    // Asks the running load to stop; state becomes Cancelled when it has.
    Q_INVOKABLE void cancelLoad();

signals:
    void stateChanged();
    void progressChanged();
    void loaded();  // state became Ready

private:
    void onProgress(double fraction, QString stage);
    void onLoadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine, gemma::Error error);
    void setState(State s);

    QString m_path;
    gemma::runtime::EngineOptions m_opts;
    State m_state = State::Idle;
    double m_progress = 0.0;
    QString m_stage;
    QString m_error;
    std::shared_ptr<gemma::runtime::ChatEngine> m_engine;
    std::atomic<bool> m_cancel{false};
    std::thread m_loader;
};

}  // namespace gemdesk
