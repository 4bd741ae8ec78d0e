// SettingsController: QSettings keys, defaults and the validation of stored model options.
#include "controllers/settings_controller.h"

#include <algorithm>

Q_LOGGING_CATEGORY(lcSettings, "gemdesk.settings")

namespace gemdesk {

namespace {
constexpr const char * kSystemPrompt = "chat/systemPrompt";
constexpr const char * kThinking = "chat/thinking";
constexpr const char * kServerEnabled = "server/enabled";
constexpr const char * kServerPort = "server/port";
constexpr const char * kApiToken = "server/apiToken";
constexpr const char * kBackend = "model/backend";
constexpr const char * kWeights = "model/weights";
constexpr const char * kKvCache = "model/kvCache";
constexpr const char * kContext = "model/contextLength";
constexpr const char * kPleOnHost = "model/pleOnHost";
}  // namespace

SettingsController::SettingsController(const QString & path, QObject * parent,
                                       const QString & defaultBackend)
    : QObject(parent),
      m_settings(path.isEmpty() ? std::make_unique<QSettings>()
                                : std::make_unique<QSettings>(path, QSettings::IniFormat)),
      m_defaultBackend(defaultBackend) {
    loadModelOptions();
}

QString SettingsController::defaultBackend() const {
    if (m_defaultBackend.isEmpty()) m_defaultBackend = detect_default_backend();
    return m_defaultBackend;
}

ModelOptions SettingsController::modelOptions() const {
    ModelOptions o = m_model;
    if (o.backend.isEmpty()) o.backend = defaultBackend();
    return o;
}

// Each stored value is checked on its own, so one bad value does not reset the others.
void SettingsController::loadModelOptions() {
    ModelOptions defaults;
    auto fallback = [](const char * key, const QString & bad, const QString & used,
                       const QString & why) {
        qCWarning(lcSettings).noquote()
            << QStringLiteral("setting %1 = '%2' %3; using '%4'").arg(key, bad, why, used);
    };
    QString backend = m_settings->value(kBackend).toString();
    if (!backend_choices().contains(backend)) {
        if (!backend.isEmpty())
            fallback(kBackend, backend, QStringLiteral("the default"),
                     QStringLiteral("is not a backend of this build (%1)")
                         .arg(backend_choices().join(QStringLiteral(", "))));
        backend.clear();  // the default, detected when first asked for
    }
    m_model.backend = backend;
    QString weights = m_settings->value(kWeights, defaults.weights).toString();
    if (!weight_choices().contains(weights)) {
        fallback(kWeights, weights, defaults.weights, QStringLiteral("is not a weight type"));
        weights = defaults.weights;
    }
    m_model.weights = weights;
    QString kv = m_settings->value(kKvCache, defaults.kvCache).toString();
    if (!kv_cache_choices().contains(kv)) {
        fallback(kKvCache, kv, defaults.kvCache, QStringLiteral("is not a KV cache type"));
        kv = defaults.kvCache;
    }
    m_model.kvCache = kv;
    bool ok = false;
    QVariant ctxValue = m_settings->value(kContext, defaults.contextLength);
    int ctx = ctxValue.toInt(&ok);
    if (!ok || ctx < kMinContextLength || ctx > kMaxContextLength) {
        fallback(kContext, ctxValue.toString(), QString::number(defaults.contextLength),
                 QStringLiteral("is not a context length from %1 to %2 tokens")
                     .arg(kMinContextLength)
                     .arg(kMaxContextLength));
        ctx = defaults.contextLength;
    }
    m_model.contextLength = ctx;
    QString ple = m_settings->value(kPleOnHost, false).toString().toLower();
    m_model.pleOnHost = ple == QLatin1String("true") || ple == QLatin1String("1");
    if (!m_model.pleOnHost && ple != QLatin1String("false") && ple != QLatin1String("0"))
        fallback(kPleOnHost, ple, QStringLiteral("false"), QStringLiteral("is not true or false"));
}

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

void SettingsController::setModelBackend(const QString & v) {
    ModelOptions o = modelOptions();
    o.backend = v;
    setModelOptions(o);
}
void SettingsController::setModelWeights(const QString & v) {
    ModelOptions o = modelOptions();
    o.weights = v;
    setModelOptions(o);
}
void SettingsController::setModelKvCache(const QString & v) {
    ModelOptions o = modelOptions();
    o.kvCache = v;
    setModelOptions(o);
}
void SettingsController::setModelContextLength(int v) {
    ModelOptions o = modelOptions();
    o.contextLength = std::clamp(v, kMinContextLength, kMaxContextLength);
    setModelOptions(o);
}
void SettingsController::setModelPleOnHost(bool v) {
    ModelOptions o = modelOptions();
    o.pleOnHost = v;
    setModelOptions(o);
}

bool SettingsController::setModelOptions(const ModelOptions & o) {
    QString problem = model_options_problem(o);
    if (!problem.isEmpty()) {
        qCWarning(lcSettings).noquote() << "model settings not changed:" << problem;
        return false;
    }
    // Compared with the values in use: the file may hold a replaced bad value, or an INI string.
    ModelOptions now = modelOptions();
    bool changed = o.backend != now.backend || o.weights != now.weights ||
                   o.kvCache != now.kvCache || o.contextLength != now.contextLength ||
                   o.pleOnHost != now.pleOnHost;
    put(kBackend, o.backend);
    put(kWeights, o.weights);
    put(kKvCache, o.kvCache);
    put(kContext, o.contextLength);
    put(kPleOnHost, o.pleOnHost);
    m_model = o;
    if (changed) emit modelChanged();
    return true;
}

}  // namespace gemdesk
