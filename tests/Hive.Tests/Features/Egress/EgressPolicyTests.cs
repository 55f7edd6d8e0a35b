using Hive.Features.Egress;
using Hive.Features.Egress.Proxy;
using Hive.Shared.Egress;
using Microsoft.Extensions.Options;

namespace Hive.Tests.Features.Egress;

/// <summary>
/// Which addresses an agent's egress refuses (ADR 0001 F5): each class, IPv4 carried in IPv6, the host's own, and the one
/// way past them, a rule that names the address itself.
/// </summary>
public sealed class EgressPolicyTests
{
    [Theory]
    [InlineData("0.0.0.0", "this network")]
    [InlineData("10.1.2.3", "private 10.0.0.0/8")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("100.100.100.200", "CGNAT")]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.9.9.9", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("172.16.0.1", "private 172.16.0.0/12")]
    [InlineData("172.31.255.255", "private 172.16.0.0/12")]
    [InlineData("192.168.1.1", "private 192.168.0.0/16")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("255.255.255.255", "reserved")]
    [InlineData("::", "unspecified")]
    [InlineData("::1", "loopback")]
    [InlineData("::7f00:1", "IPv4-compatible")]
    [InlineData("fd00:ec2::254", "unique local")]
    [InlineData("fc00::1", "unique local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254, link-local")]
    [InlineData("64:ff9b::7f00:1", "NAT64 of 127.0.0.1, loopback")]
    [InlineData("2002:0a00:0001::1", "6to4 of 10.0.0.1, private")]
    [InlineData("2002:7f00:0001::", "6to4 of 127.0.0.1, loopback")]
    public void An_address_of_a_refused_class_is_named_by_its_class(string address, string named)
    {
        Assert.Contains(named, AddressClasses.Of(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("198.18.9.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("2606:4700::1111")]
    [InlineData("64:ff9b::5db8:d70e")]
    [InlineData("2002:5db8:d70e::1")]
    [InlineData("::ffff:93.184.215.14")]
    public void A_public_address_and_the_tests_network_are_in_none(string address)
    {
        Assert.Null(AddressClasses.Of(IPAddress.Parse(address)));
    }

    [Fact]
    public void The_hosts_own_addresses_and_networks_are_refused()
    {
        var host = new HostAddresses(Options.Create(new EgressOptions()), TimeProvider.System);
        var own = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .First(u => u.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(u.Address));
        Assert.Equal("this host's own address", host.Of(own.Address));
        if (own.PrefixLength < 32)
        {
            var bytes = own.Address.GetAddressBytes();
            bytes[3] ^= 1; // a neighbour on the same network
            Assert.StartsWith("this host's network", host.Of(new IPAddress(bytes)));
            var narrow = new HostAddresses(Options.Create(new EgressOptions { RefuseHostNetworks = false }), TimeProvider.System);
            Assert.Null(narrow.Of(new IPAddress(bytes)));
        }
    }

    private static EgressPolicy Policy(Dictionary<string, IPAddress[]> names) =>
        new(null!, new StaticResolver(names), new HostAddresses(Options.Create(new EgressOptions()), TimeProvider.System), new Hive.Features.Egress.Ask.EgressAllowances(),
            Options.Create(new EgressOptions()));

    private static IReadOnlyList<EgressRule> Rules(params string[] rules) => EgressRule.ParseAll(rules);

    private static EgressTarget Target(string authority) => EgressRule.TryParseTarget(authority, out _)!;

    [Fact]
    public async Task A_target_outside_the_rules_is_refused_before_it_is_resolved()
    {
        var verdict = await Policy([]).CheckAsync("alice", Rules("github.com", "*.example.org:8443"), Target("example.org:443"), default);
        Assert.Equal(403, verdict.Status);
        Assert.Equal("alice may not reach example.org:443 (not in its egress)", verdict.Reason);
        var port = await Policy([]).CheckAsync("alice", Rules("github.com"), Target("github.com:22"), default);
        Assert.Contains("not in its egress", port.Reason);
    }

    [Fact]
    public async Task A_wildcard_covers_the_names_beneath_and_not_the_name_itself()
    {
        var policy = Policy(new() { ["api.example.org"] = [IPAddress.Parse("198.18.1.1")], ["example.org"] = [IPAddress.Parse("198.18.1.2")] });
        Assert.True((await policy.CheckAsync("a", Rules("*.example.org"), Target("api.example.org:443"), default)).IsAllowed);
        Assert.False((await policy.CheckAsync("a", Rules("*.example.org"), Target("example.org:443"), default)).IsAllowed);
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("64:ff9b::a9fe:a9fe", "NAT64")]
    public async Task A_name_in_the_rules_that_resolves_to_a_refused_address_is_refused_naming_it(string address, string why)
    {
        var verdict = await Policy(new() { ["inside.test"] = [IPAddress.Parse(address)] }).CheckAsync("alice", Rules("inside.test"), Target("inside.test:443"), default);
        Assert.Equal(403, verdict.Status);
        Assert.Contains("resolves to", verdict.Reason);
        Assert.Contains(why, verdict.Reason);
    }

    [Fact]
    public async Task Of_several_addresses_the_refused_are_dropped_and_the_rest_tried_in_order()
    {
        var verdict = await Policy(new() { ["mixed.test"] = [IPAddress.Parse("127.0.0.1"), IPAddress.Parse("198.18.3.3"), IPAddress.Parse("::ffff:198.18.3.4")] })
            .CheckAsync("a", Rules("mixed.test"), Target("mixed.test:443"), default);
        Assert.Equal([IPAddress.Parse("198.18.3.3"), IPAddress.Parse("198.18.3.4")], verdict.Addresses);
    }

    [Fact]
    public async Task A_rule_that_names_a_private_address_literally_reaches_it_and_only_on_its_port()
    {
        var policy = Policy(new() { ["db.test"] = [IPAddress.Parse("10.0.0.5")] });
        var literal = await policy.CheckAsync("a", Rules("10.0.0.5:5432"), Target("10.0.0.5:5432"), default);
        Assert.Equal([IPAddress.Parse("10.0.0.5")], literal.Addresses);
        Assert.False((await policy.CheckAsync("a", Rules("10.0.0.5:5432"), Target("10.0.0.5:22"), default)).IsAllowed);
        // A name resolving there is let through only beside a rule naming the address on that port.
        Assert.False((await policy.CheckAsync("a", Rules("db.test:5432"), Target("db.test:5432"), default)).IsAllowed);
        Assert.True((await policy.CheckAsync("a", Rules("db.test:5432", "10.0.0.5:5432"), Target("db.test:5432"), default)).IsAllowed);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_is_a_bad_gateway()
    {
        var verdict = await Policy([]).CheckAsync("a", Rules("nowhere.test"), Target("nowhere.test:443"), default);
        Assert.Equal(502, verdict.Status);
        Assert.Contains("does not resolve", verdict.Reason);
    }
}
