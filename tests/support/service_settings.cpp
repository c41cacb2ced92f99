#include "tests/support/service_settings.hpp"

namespace pipeline::testing {

service::RunSettings fake_model_settings(const FakeLlmServer& server, const std::string& store_url) {
  service::RunSettings settings;
  settings.client.base_url = server.base_url();
  settings.client.model = "test-model";
  settings.client.max_retries = 0;
  settings.store_url = store_url;
  settings.cache_enabled = false;
  return settings;
}

}  // namespace pipeline::testing
