// test_ui's main: runs every Qt Test class of tests/ui in one process (one engine load each).
#include <QGuiApplication>

#include "ui_test_util.h"

int main(int argc, char ** argv) {
    QGuiApplication app(argc, argv);
    int failed = 0;
    failed += gemdesk::testing::run_model_controller_tests(argc, argv);
    failed += gemdesk::testing::run_settings_server_tests(argc, argv);
    failed += gemdesk::testing::run_model_settings_tests(argc, argv);
    failed += gemdesk::testing::run_chat_controller_tests(argc, argv);
    return failed == 0 ? 0 : 1;
}
