#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/llm/chat.hpp"
#include "lib/llm/client_config.hpp"
#include "lib/util/expected.hpp"

namespace pipeline::llm {

// Keeps the money of a run or a batch under a cap (--max-cost). Every model
// request reserves its worst-case cost before it is sent and settles its real
// cost when it ends, so parallel requests together can never pass the cap.
// Thread-safe; shared by every request of the run or batch.
class SpendGuard {
 public:
  // `spent_usd` is what earlier invocations already spent.
  SpendGuard(double cap_usd, double spent_usd, std::map<std::string, Price> prices);

  double cap() const { return m_cap; }
  // Money settled so far, earlier invocations included.
  double spent() const;
  // Money reserved by requests in flight, not yet settled.
  double reserved() const;

  // The worst-case cost of one request to `model`: estimate_prompt_tokens of
  // the messages plus max_tokens of completion, at the model's price;
  // nullopt when the model has no price.
  std::optional<double> estimate(const std::string& model, const std::vector<Message>& messages,
                                 int max_tokens) const;

  // Reserves the estimate of a request before it is sent. cost_limit when
  // spent + reserved + estimate would pass the cap, with a message naming the
  // three figures and the cap; usage when the model has no price (--prices).
  // Returns the reserved amount, to be settled exactly once.
  util::Expected<double> reserve(const std::string& model, const std::vector<Message>& messages, int max_tokens);
  // Ends a reservation: the request cost `actual_usd` (the provider's cost,
  // else priced from its tokens); without it the reserved amount counts as spent.
  void settle(double reserved_usd, std::optional<double> actual_usd);

 private:
  mutable std::mutex m_mutex;
  double m_cap;
  double m_spent;
  double m_reserved = 0;
  std::map<std::string, Price> m_prices;
};

}  // namespace pipeline::llm
