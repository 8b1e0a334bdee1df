"""The original cpppo's public module paths and names, as its users' scripts import them.

Why: the package promises that a script written for the original cpppo 5.2.5 keeps working when
this package takes its place, and the code behind those paths moves as the project grows (the
EtherNet/IP code lives in ``cpppo.enip``; ``cpppo.server.enip`` keeps only the original's module
paths).  This table pins what is promised: every module path of the original that we provide,
with every name of it we provide and every name README.md documents; and the modules the original
runs with ``python -m`` still run that way.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
import unittest

from cpppo.tests.resources import child_env

#: Every public module path of the original cpppo 5.2.5 that this package provides, with every name
#: of it that we provide, and the names README.md documents.
PUBLIC = {
    "cpppo": [
        "Feeder", "IPv4Address", "IPv6Address", "NonTerminal", "apidict", "apidict_base", "apidict_threading",
        "assert_tps", "automata", "centeraxis", "chainable", "change_function", "clamp", "decide", "dfa",
        "dotdict", "dotdict_base", "exponential_moving_average", "function_name", "hexdecode", "hexdump",
        "hexdump_differs", "hexdumper", "hexload", "hexloader", "inf", "ip", "ip_address", "ip_network",
        "isinf", "isnan", "lazystr", "log_cfg", "logresult", "magnitude", "make_apidict_proxy",
        "make_socket_stream", "misc", "mutexmethod", "nan", "nan_first", "nan_last", "natural", "near",
        "network", "non_value", "parse_ip_port", "peekable", "redirect_stdout", "redirect_stdout_socket",
        "regex", "rememberable", "reprargs", "reprlib", "scale", "state", "state_drop", "state_input",
        "state_struct", "timer", "type_bytes_array_symbol", "integer", "integer_bytes", "string",
        "string_bytes", "dfa_post", "type_bytes_iter", "type_str_array_symbol",
        "type_str_base", "type_str_iter", "type_unicode_array_symbol", "unicode", "urlparse", "xrange"],
    "cpppo.automata": [
        "NonTerminal", "chainable", "chaining", "decide", "dfa", "dfa_base", "path_ext_input",
        "peekable", "peeking", "regex", "regex_bytes", "rememberable", "remembering", "state",
        "state_drop", "state_input", "state_struct", "string", "string_bytes", "integer", "integer_bytes",
        "dfa_post"],
    "cpppo.bin.modbus_poll": [
        "log", "main"],
    "cpppo.bin.modbus_sim": [
        "main"],
    "cpppo.blocking": [],
    "cpppo.dotdict": [
        "apidict", "apidict_base", "apidict_threading", "dotdict", "dotdict_base", "make_apidict_proxy"],
    "cpppo.history": [
        "AmbiguousTimeZoneError", "duration", "loader", "logger", "playback", "records", "timestamp"],
    "cpppo.history.files": [
        "DataError", "HistoryExhausted", "IframeError", "loader", "logger", "opener", "parse_record",
        "reader"],
    "cpppo.history.times": [
        "AmbiguousTimeZoneError", "TZ_wrapper", "duration", "format_offset", "get_localzone",
        "has_pytz_classic", "log", "parse_datetime", "parse_offset", "parse_seconds",
        "timedelta_total_seconds", "timestamp", "zone_names", "zulu_datetime"],
    "cpppo.misc": [
        "assert_tps", "centeraxis", "change_function", "clamp", "exponential_moving_average", "function_name",
        "hexdecode", "hexdump", "hexdump_differs", "hexload", "hexloader", "inf", "isnan", "lazystr",
        "log_cfg", "logresult", "magnitude", "mutexmethod", "nan", "nan_first", "nan_last", "natural", "near",
        "parse_ip_port", "reprargs", "reprlib", "scale", "timer", "unicode"],
    "cpppo.remote.io": [
        "address", "capture", "device", "input", "input_event", "motor", "motor_simulator", "output",
        "output_event"],
    "cpppo.remote.plc": [
        "PlcOffline", "poller", "poller_simulator"],
    "cpppo.remote.plc_modbus": [
        "Defaults", "PlcOffline", "log", "merge", "poller_modbus", "shatter"],
    "cpppo.tools": [
        "waits"],
    "cpppo.tools.waits": [
        "duration", "existence", "waitfor"],
    "cpppo.server.enip": [
        "BOOL", "BYTE", "DINT", "DWORD", "INT", "LINT", "LREAL", "REAL", "SINT", "SSTRING", "STRING",
        "TYPE", "UDINT", "UINT", "ULINT", "USINT", "WORD", "address", "Object", "config_files", "lookup",
        "resolve", "redirect_tag", "parse_path", "parse_route_path", "route_path_default", "send_path_default",
        "tag_struct", "Message_Router", "Connection_Manager"],
    "cpppo.server.enip.ab": [
        "powerflex", "powerflex_750_series"],
    "cpppo.server.enip.defaults": [
        "ConfigNotFoundError", "address", "config_files", "config_name", "config_open", "config_open_deduced",
        "config_paths", "forward_open_default", "latency", "priority_time_tick", "route_path_default",
        "send_path_default", "timeout", "timeout_ticks"],
    "cpppo.server.enip.list_services": [
        "main"],
    "cpppo.server.enip.ucmm": [
        "UCMM"],
    "cpppo.server.enip.udt": [
        "tag_struct"],
    "cpppo.server.enip.client": [
        "ConnectionClosed", "RequestTimeout", "connect", "connector", "format_path", "main",
        "parse_operations", "recycle"],
    "cpppo.server.enip.device": [
        "Attribute", "Connection_Manager", "Identity", "Message_Router", "Object", "TCPIP", "directory", "lookup",
        "lookup_reset", "parse_connection_path", "parse_int", "parse_path", "parse_path_component",
        "parse_path_elements", "parse_route_path", "port_link", "redirect_tag", "resolve", "resolve_element",
        "resolve_tag"],
    "cpppo.server.enip.get_attribute": [
        "attribute_operations", "log", "main", "parser", "proxy", "proxy_connected", "proxy_simple"],
    "cpppo.server.enip.getattr": [
        "attribute_operations", "main"],
    "cpppo.server.enip.historize": [
        "enip_main", "main"],
    "cpppo.server.enip.io": [
        "main"],
    "cpppo.server.enip.list_identity": [
        "main"],
    "cpppo.server.enip.logix": [
        "Attribute"],
    "cpppo.server.enip.main": [
        "config_files", "log", "main", "start", "start_thread", "tags"],
    "cpppo.server.enip.parser": [
        "BOOL", "DINT", "DWORD", "INT", "LINT", "LREAL", "REAL", "SINT", "SSTRING", "STRING", "TYPE",
        "UDINT", "UINT", "ULINT", "USINT", "WORD"],
    "cpppo.server.enip.poll": [
        "PARAMS", "execute", "log", "loop", "poll", "run"],
    "cpppo.server.enip.thruput": [
        "main", "timestamp"],
    "cpppo.server.enip.weather": [
        "enip_main", "main"],
}

#: The modules the original (and README) run as ``python -m MODULE``.
RUNNABLE = ["cpppo.server.enip", "cpppo.server.enip.client", "cpppo.server.enip.get_attribute",
            "cpppo.server.enip.getattr", "cpppo.server.enip.list_identity", "cpppo.server.enip.thruput",
            "cpppo.server.enip.historize", "cpppo.server.enip.weather", "cpppo.server.enip.io",
            "cpppo.server.enip.list_services"]


class TestPublicPaths(unittest.TestCase):
    def test_every_public_path_and_name_imports(self) -> None:
        for path, names in PUBLIC.items():
            with self.subTest(module=path):
                module = importlib.import_module(path)
                missing = [name for name in names if not hasattr(module, name)]
                self.assertEqual(missing, [], f"{path} lacks {missing}")

    def test_server_enip_holds_only_the_original_paths(self) -> None:
        """cpppo.server.enip is the original's face: each module in it is a path the original has."""
        import pkgutil

        import cpppo.server.enip as package
        ours = {info.name for info in pkgutil.iter_modules(package.__path__)}
        self.assertEqual(ours - {p.rpartition(".")[2] for p in PUBLIC} - {"__main__"}, set())

    def test_runnable_paths_run(self) -> None:
        with tempfile.TemporaryDirectory() as cwd:
            for path in RUNNABLE:
                with self.subTest(module=path):
                    done = subprocess.run([sys.executable, "-m", path, "--help"], capture_output=True, text=True,
                                          timeout=60, env=child_env(), cwd=cwd, stdin=subprocess.DEVNULL)
                    self.assertEqual(done.returncode, 0, done.stderr[-2000:])
                    self.assertIn("usage:", done.stdout.lower() + done.stderr.lower())
