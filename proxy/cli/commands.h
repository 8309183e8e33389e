#pragma once
// The `albemu` subcommands. Each takes the arguments after the command name, prints to
// stdout/stderr and returns the process exit code. Main thread only.

#include <string>
#include <vector>

namespace albemu::cli {

/// `albemu serve [-c PATH]... [--admin HOST:PORT] [--workers N] [--access-log PATH|-]
///               [--ephemeral-ports] [--listen-address HOST] [--ready-file PATH]`
int run_serve(const std::vector<std::string>& args);

/// `albemu validate -c PATH... [--format text|json]`
int run_validate(const std::vector<std::string>& args);

/// `albemu route -c PATH... --url URL [-X METHOD] [-H 'Name: value']... [--forwarding-rule NAME]`
int run_route(const std::vector<std::string>& args);

/// `albemu standin [--port P] [--host H] [--service NAME] [--revision R] [--tag T] [--http2]`
int run_standin(const std::vector<std::string>& args);

/// `albemu healthcheck [--url URL] [--timeout-ms N] [--http2]`: exit 0 when GET URL answers
/// 2xx (in h2c with prior knowledge with --http2).
int run_healthcheck(const std::vector<std::string>& args);

/// `albemu gcloud COMMAND... [NAME] [--flag=value]...`: the gcloud command lines of Google's
/// guide, applied to a running `albemu serve` through its compute API (proxy/cli/gcloud.h).
int run_gcloud(const std::vector<std::string>& args);

/// `albemu --version` (or `-V`): the release, and the build's options and libraries.
int run_version();

}  // namespace albemu::cli
