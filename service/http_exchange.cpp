#include "service/http_exchange.hpp"

#include "lib/util/json_text.hpp"

namespace pipeline::service {

std::string request_token(const httplib::Request& request) {
  const std::string authorization = request.get_header_value("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.size() > scheme.size() &&
      std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); })) {
    return authorization.substr(scheme.size());
  }
  return request.get_param_value("access_token");
}

Access request_access(const ServeContext& context, const httplib::Request& request) {
  if (!context.tokens.enabled()) return {Access::Kind::service, {}};
  return context.tokens.check(request_token(request), std::chrono::system_clock::now());
}

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(util::dump_json(body) + "\n", "application/json");
}

void send_problem(httplib::Response& response, const Problem& problem) {
  response.status = problem.status;
  if (problem.status == 401) response.set_header("WWW-Authenticate", "Bearer realm=\"pipeline\"");
  response.set_content(util::dump_json(to_json(problem)) + "\n", k_problem_content_type);
}

namespace {

bool refuse_access(const Access& access, httplib::Response& response, std::string_view what) {
  if (access.kind == Access::Kind::none) {
    send_problem(response, make_problem("unauthorized", "send a service token or a run's read token as "
                                                        "`Authorization: Bearer <token>` or ?access_token="));
  } else {
    send_problem(response, make_problem("forbidden", std::string("this token does not allow ") + std::string(what)));
  }
  return false;
}

}  // namespace

bool require_service(const ServeContext& context, const httplib::Request& request, httplib::Response& response) {
  const Access access = request_access(context, request);
  if (access.kind == Access::Kind::service) return true;
  return refuse_access(access, response, "this request; it needs a service token");
}

bool require_run_reader(const ServeContext& context, const httplib::Request& request, httplib::Response& response,
                        const std::string& run_id) {
  const Access access = request_access(context, request);
  if (access.may_read_run(run_id)) return true;
  return refuse_access(access, response, "reading this run");
}

}  // namespace pipeline::service
