// Skeleton placeholder until lib/llm lands.
#include "lib/llm/client_config.hpp"
namespace pipeline::llm {
ApiKey api_key_from_environment() { return {}; }
}
