// ModelController on the real engine: background load with progress to Ready, cancel, and
// readable failures for a missing or broken model folder.
#include <QDir>
#include <QFile>

#include "ui_test_util.h"

namespace gemdesk::testing {

class ModelControllerTest : public QObject {
    Q_OBJECT
private slots:
    void loadsInTheBackgroundWithProgress() {
        ModelController model(tiny_model_dir(), tiny_engine_options());
        QSignalSpy progress(&model, &ModelController::progressChanged);
        QSignalSpy loaded(&model, &ModelController::loaded);
        model.load();
        QCOMPARE(model.state(), ModelController::State::Loading);  // load() did not block
        QVERIFY(!model.engine());
        QVERIFY(loaded.wait(30000));
        QCOMPARE(model.state(), ModelController::State::Ready);
        QVERIFY(model.engine());
        QCOMPARE(model.progress(), 1.0);
        QCOMPARE(model.modelName(), QStringLiteral("tiny-gemma4-chat"));
        QCOMPARE(model.contextLength(), 512);
        QVERIFY2(progress.count() >= 3, "expected progress from several load stages");
        model.load();  // already loaded: no second load
        QCOMPARE(model.state(), ModelController::State::Ready);
    }

    void cancelStopsTheLoad() {
        ModelController model(tiny_model_dir(), tiny_engine_options());
        QSignalSpy state(&model, &ModelController::stateChanged);
        model.load();
        model.cancelLoad();
        QTRY_COMPARE_WITH_TIMEOUT(model.state(), ModelController::State::Cancelled, 30000);
        QVERIFY(!model.engine());
        QVERIFY(model.errorString().contains("cancelled"));
        model.load();  // a retry after cancelling works
        QTRY_COMPARE_WITH_TIMEOUT(model.state(), ModelController::State::Ready, 30000);
    }

    void missingFolderFailsWithItsName() {
        QTemporaryDir dir;
        QString missing = dir.filePath("no-such-model");
        ModelController model(missing, tiny_engine_options());
        model.load();
        QTRY_COMPARE_WITH_TIMEOUT(model.state(), ModelController::State::Failed, 30000);
        QVERIFY2(model.errorString().contains(missing), qPrintable(model.errorString()));
        QVERIFY(!model.engine());
    }

    void brokenWeightsFailReadably() {
        QTemporaryDir dir;
        for (const char * f :
             {"config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
              "chat_template.jinja", "generation_config.json"})
            QVERIFY(QFile::copy(tiny_model_dir() + "/" + f, dir.filePath(f)));
        QFile weights(dir.filePath("model.safetensors"));
        QVERIFY(weights.open(QIODevice::WriteOnly));
        weights.write("\x10\x00\x00\x00\x00\x00\x00\x00{\"bad\": json", 20);  // header cut short
        weights.close();
        ModelController model(dir.path(), tiny_engine_options());
        model.load();
        QTRY_COMPARE_WITH_TIMEOUT(model.state(), ModelController::State::Failed, 30000);
        QVERIFY2(model.errorString().startsWith("Cannot load the model in"),
                 qPrintable(model.errorString()));
    }

    void noModelPathSaysHowToGiveOne() {
        ModelController model(QString(), tiny_engine_options());
        model.load();
        QCOMPARE(model.state(), ModelController::State::Failed);
        QVERIFY(model.errorString().contains("--model"));
    }
};

int run_model_controller_tests(int argc, char ** argv) {
    ModelControllerTest t;
    return QTest::qExec(&t, argc, argv);
}

}  // namespace gemdesk::testing

#include "model_controller_test.moc"
