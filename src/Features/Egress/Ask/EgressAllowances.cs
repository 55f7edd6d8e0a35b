using System.Collections.Concurrent;

namespace Hive.Features.Egress.Ask;

/// <summary>
/// Places the operator allowed once ("allow once"): the agent's next connection to that place passes as if a rule named
/// it, and the one after is refused again. In memory: a restart forgets an allowance not yet used (the agent asks again).
/// </summary>
internal sealed class EgressAllowances
{
    private readonly ConcurrentDictionary<(string Agent, string Target), int> _once = new();

    public void Grant(string agent, string target) => _once.AddOrUpdate((agent, target), 1, (_, n) => n + 1);

    public bool TryTake(string agent, string target)
    {
        while (_once.TryGetValue((agent, target), out var left))
        {
            if (left <= 1 ? _once.TryRemove(new KeyValuePair<(string, string), int>((agent, target), left)) : _once.TryUpdate((agent, target), left - 1, left))
                return true;
        }
        return false;
    }
}
