"""The real client behind our trusted proxies, and the key limits count on."""

import pytest
from django.test import RequestFactory

from articles.clientip import client_ip, client_key


def _request(remote="10.0.0.9", forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(forwarded="198.51.100.7")) == "10.0.0.9"


def test_one_trusted_proxy_gives_the_address_it_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(forwarded="198.51.100.7")) == "198.51.100.7"


def test_entries_written_by_the_client_are_not_believed(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    spoofed = "203.0.113.1, 203.0.113.2, 198.51.100.7"
    assert client_ip(_request(forwarded=spoofed)) == "198.51.100.7"


def test_two_trusted_proxies_count_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    # client-written, real client (added by the CDN), CDN (added by nginx); nginx is REMOTE_ADDR.
    chain = "203.0.113.1, 198.51.100.7, 192.0.2.50"
    assert client_ip(_request(forwarded=chain)) == "198.51.100.7"


def test_a_short_chain_gives_its_first_entry(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request(forwarded="198.51.100.7")) == "198.51.100.7"


@pytest.mark.parametrize("garbage", ["unknown", "<script>", "999.1.1.1", ""])
def test_an_unreadable_entry_falls_back_to_the_proxy(settings, garbage):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(forwarded=garbage)) == "10.0.0.9"


@pytest.mark.parametrize(
    ("written", "address"),
    [("198.51.100.7:4711", "198.51.100.7"), ("[2001:db8::1]:443", "2001:db8::1")],
)
def test_addresses_with_ports_are_read(settings, written, address):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(forwarded=written)) == address


def test_ipv6_clients_are_counted_per_64():
    first = client_key(_request(remote="2001:db8:1:2:aaaa::1"))
    same_network = client_key(_request(remote="2001:db8:1:2:bbbb::2"))
    other_network = client_key(_request(remote="2001:db8:1:3::1"))
    assert first == same_network == "2001:db8:1:2::"
    assert other_network != first


def test_ipv4_clients_and_mapped_addresses_are_counted_per_address():
    assert client_key(_request(remote="198.51.100.7")) == "198.51.100.7"
    assert client_key(_request(remote="::ffff:198.51.100.7")) == "198.51.100.7"
