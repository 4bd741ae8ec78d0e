// The user's settings, persisted with QSettings: chat defaults (system prompt, thinking) and the
// background API server (on/off, port, token). Plain values; ServerController acts on them.
#pragma once

#include <QtQml/qqmlregistration.h>

#include <QObject>
#include <QSettings>
#include <QString>
#include <memory>

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
public:
    static constexpr int kDefaultPort = 8080;

    // `path` empty: the platform's native settings for GemDesk; otherwise an INI file there.
    explicit SettingsController(const QString & path, QObject * parent = nullptr);

    QString systemPrompt() const;
    bool thinkingEnabled() const;
    bool serverEnabled() const;
    int serverPort() const;
    QString apiToken() const;
    QString fileName() const { return m_settings->fileName(); }

    void setSystemPrompt(const QString & v);
    void setThinkingEnabled(bool v);
    void setServerEnabled(bool v);
    void setServerPort(int v);  // clamped to 1..65535
    void setApiToken(const QString & v);

signals:
    void changed();        // chat defaults
    void serverChanged();  // server settings

private:
    bool put(const char * key, const QVariant & v);
    std::unique_ptr<QSettings> m_settings;
};

}  // namespace gemdesk
