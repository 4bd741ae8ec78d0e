// SettingsController: QSettings keys and defaults.
#include "controllers/settings_controller.h"

#include <algorithm>

namespace gemdesk {

namespace {
constexpr const char * kSystemPrompt = "chat/systemPrompt";
constexpr const char * kThinking = "chat/thinking";
constexpr const char * kServerEnabled = "server/enabled";
constexpr const char * kServerPort = "server/port";
constexpr const char * kApiToken = "server/apiToken";
}  // namespace

SettingsController::SettingsController(const QString & path, QObject * parent)
    : QObject(parent),
      m_settings(path.isEmpty() ? std::make_unique<QSettings>()
                                : std::make_unique<QSettings>(path, QSettings::IniFormat)) {}

QString SettingsController::systemPrompt() const {
    return m_settings->value(kSystemPrompt, QString()).toString();
}
bool SettingsController::thinkingEnabled() const {
    return m_settings->value(kThinking, false).toBool();
}
bool SettingsController::serverEnabled() const {
    return m_settings->value(kServerEnabled, false).toBool();
}
int SettingsController::serverPort() const {
    bool ok = false;
    int port = m_settings->value(kServerPort, kDefaultPort).toInt(&ok);
    return ok && port > 0 && port <= 65535 ? port : kDefaultPort;
}
QString SettingsController::apiToken() const {
    return m_settings->value(kApiToken, QString()).toString();
}

bool SettingsController::put(const char * key, const QVariant & v) {
    if (m_settings->contains(key) && m_settings->value(key) == v) return false;
    m_settings->setValue(key, v);
    m_settings->sync();
    return true;
}

void SettingsController::setSystemPrompt(const QString & v) {
    if (put(kSystemPrompt, v)) emit changed();
}
void SettingsController::setThinkingEnabled(bool v) {
    if (put(kThinking, v)) emit changed();
}
void SettingsController::setServerEnabled(bool v) {
    if (put(kServerEnabled, v)) emit serverChanged();
}
void SettingsController::setServerPort(int v) {
    if (put(kServerPort, std::clamp(v, 1, 65535))) emit serverChanged();
}
void SettingsController::setApiToken(const QString & v) {
    if (put(kApiToken, v.trimmed())) emit serverChanged();
}

}  // namespace gemdesk
