// The user's settings, persisted with QSettings: chat defaults (system prompt, thinking), the
// background API server (on/off, port, token) and the model load options (model_options.h).
// Plain values; ServerController and ModelController act on them.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QLoggingCategory>
#include <QObject>
#include <QSettings>
#include <QString>
#include <QStringList>
#include <QVariantMap>
#include <memory>

#include "controllers/model_options.h"

Q_DECLARE_LOGGING_CATEGORY(lcSettings)

namespace gemdesk {

class SettingsController : public QObject {
    Q_OBJECT
    QML_ELEMENT
    QML_UNCREATABLE("built by app/services.cpp")
    Q_PROPERTY(QString systemPrompt READ systemPrompt WRITE setSystemPrompt NOTIFY changed)
    Q_PROPERTY(bool thinkingEnabled READ thinkingEnabled WRITE setThinkingEnabled NOTIFY changed)
    Q_PROPERTY(bool serverEnabled READ serverEnabled WRITE setServerEnabled NOTIFY serverChanged)
    Q_PROPERTY(int serverPort READ serverPort WRITE setServerPort NOTIFY serverChanged)
    Q_PROPERTY(QString apiToken READ apiToken WRITE setApiToken NOTIFY serverChanged)
    Q_PROPERTY(QString fileName READ fileName CONSTANT)
    Q_PROPERTY(QString modelBackend READ modelBackend WRITE setModelBackend NOTIFY modelChanged)
    Q_PROPERTY(QString modelWeights READ modelWeights WRITE setModelWeights NOTIFY modelChanged)
    Q_PROPERTY(QString modelKvCache READ modelKvCache WRITE setModelKvCache NOTIFY modelChanged)
    Q_PROPERTY(int modelContextLength READ modelContextLength WRITE setModelContextLength NOTIFY
                   modelChanged)
    Q_PROPERTY(bool modelPleOnHost READ modelPleOnHost WRITE setModelPleOnHost NOTIFY modelChanged)
    Q_PROPERTY(
        QVariantMap modelOptions READ modelOptionsMap WRITE setModelOptionsMap NOTIFY modelChanged)
    Q_PROPERTY(QStringList backendChoices READ backendChoices CONSTANT)
    Q_PROPERTY(QStringList weightChoices READ weightChoices CONSTANT)
    Q_PROPERTY(QStringList kvCacheChoices READ kvCacheChoices CONSTANT)
    Q_PROPERTY(int minContextLength READ minContextLength CONSTANT)
    Q_PROPERTY(int maxContextLength READ maxContextLength CONSTANT)
public:
    static constexpr int kDefaultPort = 8080;

    // `path` empty: the platform's native settings for GemDesk; otherwise an INI file there.
    // Stored model options that this build cannot use (an unregistered backend, an unknown type,
    // a context out of range) are logged and replaced by the defaults; the file keeps them.
    // `defaultBackend` empty: detect_default_backend() (probes CUDA once, if it is needed).
    explicit SettingsController(const QString & path, QObject * parent = nullptr,
                                const QString & defaultBackend = QString());

    QString systemPrompt() const;
    bool thinkingEnabled() const;
    bool serverEnabled() const;
    int serverPort() const;
    QString apiToken() const;
    QString fileName() const { return m_settings->fileName(); }

    ModelOptions modelOptions() const;  // always valid
    QString modelBackend() const { return modelOptions().backend; }
    QString modelWeights() const { return m_model.weights; }
    QString modelKvCache() const { return m_model.kvCache; }
    int modelContextLength() const { return m_model.contextLength; }
    bool modelPleOnHost() const { return m_model.pleOnHost; }
    QVariantMap modelOptionsMap() const { return model_options_to_map(modelOptions()); }
    QStringList backendChoices() const { return backend_choices(); }
    QStringList weightChoices() const { return weight_choices(); }
    QStringList kvCacheChoices() const { return kv_cache_choices(); }
    int minContextLength() const { return kMinContextLength; }
    int maxContextLength() const { return kMaxContextLength; }

    void setSystemPrompt(const QString & v);
    void setThinkingEnabled(bool v);
    void setServerEnabled(bool v);
    void setServerPort(int v);  // clamped to 1..65535
    void setApiToken(const QString & v);

    // Unknown values are logged and ignored (the setting keeps its value); the context length is
    // clamped to minContextLength..maxContextLength. Saved at once; nothing reloads by itself.
    void setModelBackend(const QString & v);
    void setModelWeights(const QString & v);
    void setModelKvCache(const QString & v);
    void setModelContextLength(int v);
    void setModelPleOnHost(bool v);
    // All five at once (keys as model_options_to_map); false, changing nothing, when a value is
    // unknown (logged).
    bool setModelOptions(const ModelOptions & o);
    void setModelOptionsMap(const QVariantMap & m) { setModelOptions(model_options_from_map(m)); }

signals:
    void changed();        // chat defaults
    void serverChanged();  // server settings
    void modelChanged();   // model load options

private:
    bool put(const char * key, const QVariant & v);
    void loadModelOptions();
    QString defaultBackend() const;

    std::unique_ptr<QSettings> m_settings;
    mutable QString m_defaultBackend;  // "" until needed (the CUDA probe costs)
    ModelOptions m_model;              // backend "" = defaultBackend()
};

}  // namespace gemdesk
