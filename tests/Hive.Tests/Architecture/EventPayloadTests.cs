using System.Collections;
using System.Runtime.CompilerServices;
using Hive.Shared.Dashboard;
using Hive.Tests.Architecture.Fixtures;

namespace Hive.Tests.Architecture;

/// <summary>
/// Every dashboard event names its payload (<see cref="IDashboardEvent{TPayload}"/>), and the payload is a record of the
/// contract assembly: the SSE wire is written once, where the CLI, the tests and the docs can read it, never as an
/// anonymous object, a bare <c>object</c> or a dictionary of strings that no compiler checks.
/// </summary>
public sealed class EventPayloadTests
{
    /// <summary>Events whose payload is not a contract record, each with why. Keep it short.</summary>
    private static readonly IReadOnlyDictionary<string, string> Exceptions = new Dictionary<string, string>
    {
        ["Hive.Shared.Agents.AgentRowChanged"] =
            "an agent row is composed at run time from every slice's facts (AgentRow, in Shared): its payload is the named AgentRowPayload, beside it",
    };

    private static IEnumerable<Type> HiveEvents() => HiveSources.Assemblies.SelectMany(a => a.GetTypes()).Where(IsEvent);

    [Fact]
    public void Every_dashboard_event_carries_a_contract_record()
    {
        var violations = HiveEvents().Where(e => !Exceptions.ContainsKey(e.FullName!)).SelectMany(Violations).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_listed_exception_is_still_needed()
    {
        var events = HiveEvents().ToDictionary(e => e.FullName!);
        Assert.All(Exceptions.Keys, name =>
        {
            Assert.True(events.TryGetValue(name, out var type), $"{name} is no dashboard event (any more): drop the exception");
            Assert.True(Violations(type).Any(), $"{name} carries a contract record now: drop the exception");
        });
    }

    [Fact]
    public void Reports_an_anonymous_an_untyped_and_a_dictionary_payload()
    {
        Assert.Contains(Violations(typeof(UntypedEvents.Anonymous)), v => v.Contains("declares no payload type", StringComparison.Ordinal));
        Assert.Contains(Violations(typeof(UntypedEvents.Untyped)), v => v.Contains("not a named record of Hive.Contracts", StringComparison.Ordinal));
        Assert.Contains(Violations(typeof(UntypedEvents.Keyed)), v => v.Contains("not a named record of Hive.Contracts", StringComparison.Ordinal));
        Assert.Contains(Violations(typeof(UntypedEvents.OwnRecord)), v => v.Contains("not a named record of Hive.Contracts", StringComparison.Ordinal));
        Assert.Empty(Violations(typeof(UntypedEvents.Typed)));
    }

    private static bool IsEvent(Type type) => type is { IsClass: true, IsAbstract: false } && typeof(IDashboardEvent).IsAssignableFrom(type);

    private static IEnumerable<string> Violations(Type dashboardEvent)
    {
        var payloads = dashboardEvent.GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDashboardEvent<>))
            .Select(i => i.GetGenericArguments()[0]).ToList();
        if (payloads.Count == 0)
            yield return $"{dashboardEvent.FullName} declares no payload type: implement IDashboardEvent<TPayload> with a record of Hive.Contracts";
        foreach (var payload in payloads)
            if (!IsContractRecord(payload))
                yield return $"{dashboardEvent.FullName} carries {payload}: not a named record of Hive.Contracts (src/Contracts/<Slice>/)";
    }

    private static bool IsContractRecord(Type payload) =>
        payload != typeof(object)
        && payload.Assembly.GetName().Name == "Hive.Contracts"
        && !payload.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false)
        && !typeof(IDictionary).IsAssignableFrom(payload)
        && !payload.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));
}
