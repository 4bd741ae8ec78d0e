// Turns the open chat (system prompt + message rows) into the engine's chat request, and engine
// errors into sentences for the user. Pure functions, shared by ChatController and its tests.
#pragma once

#include <QString>
#include <vector>

#include "models/message_list_model.h"
#include "runtime/engine_chat.h"

namespace gemdesk {

struct ChatTurnOptions {
    QString systemPrompt;  // "" = none
    bool thinking = false;
    int maxTokens = -1;        // -1: until a stop token or the context is full
    double temperature = 1.0;  // 0 = greedy
};

// Sampling follows Gemma 4's generation_config (top_p 0.95, top_k 64) at opts.temperature.
gemma::runtime::ChatGenerateRequest make_chat_turn(const std::vector<MessageItem> & history,
                                                   const ChatTurnOptions & opts);

// A readable message for a failed generation, with what to do about it.
QString readable_generation_error(const gemma::Error & error);

}  // namespace gemdesk
