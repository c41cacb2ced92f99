#pragma once

namespace pipeline::testing {

// A TCP socket bound to 127.0.0.1 and a free port, not yet listening;
// returns the descriptor and sets `port`. Throws when the system refuses.
int bind_loopback_socket(int& port);

// A port on 127.0.0.1 that nothing listens on right now.
int free_local_port();

}  // namespace pipeline::testing
