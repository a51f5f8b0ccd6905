"""Helpers for the tests and the benchmarks (never imported by the tool itself): loopback stand-ins of the
servers ``fetch-frequencies`` talks to (:mod:`fomo_order.testing.standins`). Standard library only."""
