// Loads the model in the background (ChatEngine::load on a worker thread) and tells QML how far
// it got; the load can be cancelled. Owns the loaded engine, shared with chats and the server.
// Reloads with new options (model_options.h) either beside the running engine, which answers
// until the new one is ready, or after releasing it (less memory); a failed reload says why.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QLoggingCategory>
#include <QObject>
#include <QString>
#include <QVariantMap>
#include <atomic>
#include <memory>
#include <optional>
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
    Q_PROPERTY(QString backend READ backend NOTIFY stateChanged)
    Q_PROPERTY(int contextLength READ contextLength NOTIFY stateChanged)
    Q_PROPERTY(QVariantMap options READ optionsMap NOTIFY stateChanged)
    Q_PROPERTY(bool reloading READ reloading NOTIFY reloadChanged)
    Q_PROPERTY(QString reloadError READ reloadError NOTIFY reloadChanged)
    Q_PROPERTY(bool canRevert READ canRevert NOTIFY reloadChanged)
    Q_PROPERTY(QVariantMap previousOptions READ previousOptionsMap NOTIFY reloadChanged)
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
    // The options of the engine in use (Ready), else of the load running or last tried.
    QString backend() const { return QString::fromStdString(m_opts.backend); }
    const gemma::runtime::EngineOptions & engineOptions() const { return m_opts; }
    QVariantMap optionsMap() const;
    int contextLength() const;
    // A reload runs beside the engine in use (state stays Ready).
    bool reloading() const { return m_pending.has_value(); }
    // Why the last reload failed ("" after a success or dismissReloadError()).
    QString reloadError() const { return m_reloadError; }
    // Options of the last engine that loaded, when they differ from engineOptions().
    bool canRevert() const { return m_previous.has_value(); }
    QVariantMap previousOptionsMap() const;

    // Null until state() is Ready.
    std::shared_ptr<gemma::runtime::ChatEngine> engine() const { return m_engine; }

    // Starts loading (from Idle, Failed or Cancelled); no-op while loading or ready.
    Q_INVOKABLE void load();
    // Asks the running load (or reload) to stop; state becomes Cancelled when it has (a reload
    // beside a running engine just ends, the engine keeps answering).
    Q_INVOKABLE void cancelLoad();

    // Loads the model again with `opts`. keepServing: the engine in use keeps answering until the
    // new one is ready and replaces it (memory for both); a failure leaves it in use with
    // reloadError() set. Otherwise the engine is released first (state Loading, then Ready or
    // Failed; replies already running finish on it). False, with reloadError() set, while a load
    // runs or without a model folder.
    bool reload(gemma::runtime::EngineOptions opts, bool keepServing);
    // reload() with options as model_options_to_map() writes them, over the current ones.
    // False, with reloadError() naming the bad value, when one is unknown.
    Q_INVOKABLE bool reloadWith(const QVariantMap & options, bool keepServing);
    // Reloads with previousOptions() (after a failed reload that released the engine).
    Q_INVOKABLE bool revert();
    Q_INVOKABLE void dismissReloadError();

signals:
    void stateChanged();
    void progressChanged();
    void reloadChanged();
    void loaded();                               // state became Ready (also after a reload)
    void reloadFailed(const QString & message);  // reloadError() was set

private:
    void startLoader(gemma::runtime::EngineOptions opts);
    void onProgress(double fraction, QString stage);
    void onLoadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine, gemma::Error error);
    void onReloadDone(std::shared_ptr<gemma::runtime::ChatEngine> engine, gemma::Error error);
    void setReloadError(const QString & message);
    void setState(State s);

    QString m_path;
    gemma::runtime::EngineOptions m_opts;
    std::optional<gemma::runtime::EngineOptions> m_pending;   // reload beside m_engine
    std::optional<gemma::runtime::EngineOptions> m_previous;  // last good, when not m_opts
    State m_state = State::Idle;
    double m_progress = 0.0;
    QString m_stage;
    QString m_error;
    QString m_reloadError;
    std::shared_ptr<gemma::runtime::ChatEngine> m_engine;
    std::atomic<bool> m_cancel{false};
    std::thread m_loader;
};

}  // namespace gemdesk
