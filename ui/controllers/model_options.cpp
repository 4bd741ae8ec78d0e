// Model options: choices, the default backend probe, validation and EngineOptions conversion.
#include "controllers/model_options.h"

#include "core/kv_quant.h"
#include "core/registry.h"
#include "model/gemma4/weights.h"

namespace gemdesk {

QStringList backend_choices() {
    QStringList names;
    for (const std::string & n : gemma::backend_names()) names << QString::fromStdString(n);
    return names;
}

QStringList weight_choices() {
    return {QStringLiteral("stored"), QStringLiteral("q8_0"), QStringLiteral("q4_0")};
}

QStringList kv_cache_choices() {
    return {QStringLiteral("f32"), QStringLiteral("bf16"), QStringLiteral("q8_0")};
}

QString detect_default_backend() {
    if (backend_choices().contains(QStringLiteral("cuda")) && gemma::backend_create("cuda").ok())
        return QStringLiteral("cuda");
    return QStringLiteral("cpu");
}

QString model_options_problem(const ModelOptions & o) {
    QStringList problems;
    QStringList backends = backend_choices();
    if (!backends.contains(o.backend))
        problems << QStringLiteral("unknown backend '%1' (this build has: %2)")
                        .arg(o.backend, backends.join(QStringLiteral(", ")));
    if (!weight_choices().contains(o.weights))
        problems << QStringLiteral("unknown weight type '%1' (choose %2)")
                        .arg(o.weights, weight_choices().join(QStringLiteral(", ")));
    if (!kv_cache_choices().contains(o.kvCache))
        problems << QStringLiteral("unknown KV cache type '%1' (choose %2)")
                        .arg(o.kvCache, kv_cache_choices().join(QStringLiteral(", ")));
    if (o.contextLength < kMinContextLength || o.contextLength > kMaxContextLength)
        problems << QStringLiteral("context length %1 is out of range (%2 to %3 tokens)")
                        .arg(o.contextLength)
                        .arg(kMinContextLength)
                        .arg(kMaxContextLength);
    return problems.join(QLatin1Char('\n'));
}

QVariantMap model_options_to_map(const ModelOptions & o) {
    return {{QStringLiteral("backend"), o.backend},
            {QStringLiteral("weights"), o.weights},
            {QStringLiteral("kvCache"), o.kvCache},
            {QStringLiteral("contextLength"), o.contextLength},
            {QStringLiteral("pleOnHost"), o.pleOnHost}};
}

ModelOptions model_options_from_map(const QVariantMap & m) {
    ModelOptions o;
    o.backend = m.value(QStringLiteral("backend"), o.backend).toString();
    o.weights = m.value(QStringLiteral("weights"), o.weights).toString();
    o.kvCache = m.value(QStringLiteral("kvCache"), o.kvCache).toString();
    bool ok = false;
    int ctx = m.value(QStringLiteral("contextLength"), o.contextLength).toInt(&ok);
    o.contextLength = ok ? ctx : -1;  // not a number: model_options_problem reports it
    o.pleOnHost = m.value(QStringLiteral("pleOnHost"), o.pleOnHost).toBool();
    return o;
}

gemma::Result<gemma::runtime::EngineOptions> engine_options_with(
    const ModelOptions & o, gemma::runtime::EngineOptions base) {
    QString problem = model_options_problem(o);
    if (!problem.isEmpty())
        return gemma::make_error(gemma::ErrorCode::invalid_argument, problem.toStdString());
    auto weights = gemma::gemma4::parse_weight_type(o.weights.toStdString());
    if (!weights.ok()) return weights.error();
    auto kv = gemma::kv_cache_dtype_parse(o.kvCache.toStdString());
    if (!kv.ok()) return kv.error();
    base.backend = o.backend.toStdString();
    base.weights = *weights;
    base.kv_cache = *kv;
    base.n_ctx = o.contextLength;
    base.ple_on_host = o.pleOnHost;
    return base;
}

ModelOptions model_options_of(const gemma::runtime::EngineOptions & e) {
    ModelOptions o;
    o.backend = QString::fromStdString(e.backend);
    o.weights = e.weights == gemma::gemma4::WeightType::stored
                    ? QStringLiteral("stored")
                    : QString::fromLatin1(gemma::gemma4::weight_type_name(e.weights));
    o.kvCache = QString::fromLatin1(gemma::dtype_name(e.kv_cache));
    o.contextLength = e.n_ctx;
    o.pleOnHost = e.ple_on_host;
    return o;
}

}  // namespace gemdesk
