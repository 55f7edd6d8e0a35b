using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers.Runtime;

/// <summary>
/// A cgroup of its own for each run of an agent the process and bubblewrap drivers start (<see cref="AgentCgroup"/>): it
/// holds every process the agent makes, even one that leaves its process group (<c>setsid</c>, a daemon's double fork),
/// so all of them are killed when the agent ends; it carries the agent's caps (<see cref="ResourceLimits"/>: memory, CPU,
/// pids), written before the agent's program runs; and its counters are the agent's usage.
/// <para>
/// Each hive has a directory of its own in each hierarchy (<see cref="CgroupTree"/>). It needs write access there (root,
/// or a delegated subtree); without it agents run as before, in their process group only, without caps, and the host
/// says so once.
/// </para>
/// </summary>
internal sealed class AgentCgroups : IDisposable
{
    private readonly ILogger _logger;
    private readonly CgroupTree? _located;
    private readonly string? _why;
    private readonly Lazy<CgroupTree?> _tree;
    private readonly ConcurrentDictionary<string, AgentCgroup> _running = new(StringComparer.Ordinal);
    private int _warnedMissing;

    public AgentCgroups(string dataDir, string mountRoot, ILogger<AgentCgroups> logger)
    {
        _logger = logger;
        (_located, _why) = CgroupTree.Locate(dataDir, mountRoot);
        // Made when first needed, so a hive that never runs an agent under the process drivers leaves no trace.
        _tree = new Lazy<CgroupTree?>(Prepare);
    }

    /// <summary>The cgroups of the agents running now, by agent: what the usage loop reads.</summary>
    public IReadOnlyCollection<AgentCgroup> Running => (IReadOnlyCollection<AgentCgroup>)_running.Values;

    public AgentCgroup? RunningOf(string agent) => _running.GetValueOrDefault(agent);

    /// <summary>Whether caps can be set here at all (false: the host said why, once).</summary>
    public bool LimitsOn => _tree.Value is { } tree && tree.Roots.Keys.Any(c => c != CgroupTree.CpuAcct);

    /// <summary>Which caps this host can set: <c>memory</c>, <c>cpu</c>, <c>pids</c>.</summary>
    public bool Can(string controller) => _tree.Value?.Roots.ContainsKey(controller) == true;

    /// <summary>Makes a new cgroup for one run of <paramref name="agent"/>, capped; null when cgroups cannot be used here.</summary>
    public AgentCgroup? Create(string agent, ResourceLimits limits)
    {
        if (_tree.Value is not { } tree) return null;
        var leaf = $"{agent}-{Guid.NewGuid():N}"[..(agent.Length + 13)];
        var byController = tree.Roots.ToDictionary(r => r.Key, r => Path.Combine(r.Value, leaf), StringComparer.Ordinal);
        var cgroup = new AgentCgroup(agent, Path.Combine(tree.Primary, leaf), byController, tree.V2, limits);
        try
        {
            foreach (var dir in cgroup.Dirs) Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The agent still runs, held by its process group as on a machine without cgroups.
            _logger.LogWarning("containers: cannot make {Cgroup} ({Why}): {Agent} runs without one, and without caps", cgroup.Primary, e.Message, agent);
            _ = RemoveAsync(cgroup);
            return null;
        }
        var missing = cgroup.Apply();
        if (missing.Count > 0 && Interlocked.Exchange(ref _warnedMissing, 1) == 0)
            _logger.LogWarning("containers: this host cannot cap {Missing} of an agent's cgroup: those limits are off", string.Join(", ", missing));
        _running[agent] = cgroup;
        return cgroup;
    }

    /// <summary>
    /// A cgroup for one terminal, beneath its agent's running cgroup in each hierarchy (null when the agent has none): the
    /// agent's caps hold for it (they are hierarchical), and everything the terminal starts stays in it, even a job that
    /// <c>setsid</c>s out of the terminal's session, so <see cref="KillAndRemoveAsync(TerminalCgroup)"/> ends all of it.
    /// No controller is enabled beneath the agent's cgroup, so the agent's own processes may stay where they are.
    /// </summary>
    public TerminalCgroup? CreateTerminal(string agent)
    {
        if (RunningOf(agent) is not { } running) return null;
        var leaf = $"terminal-{Guid.NewGuid():N}"[..21];
        var terminal = new TerminalCgroup(running.Dirs.Select(d => Path.Combine(d, leaf)).ToList());
        try
        {
            foreach (var dir in terminal.Dirs) Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("containers: cannot make {Cgroup} ({Why}): the terminal runs in its agent's cgroup", terminal.Dirs[0], e.Message);
            _ = KillAndRemoveAsync(terminal);
            return null;
        }
        return terminal;
    }

    /// <summary>SIGKILLs everything in a terminal's cgroup until none is left, then removes its directories.</summary>
    public async Task<bool> KillAndRemoveAsync(TerminalCgroup terminal)
    {
        if (!await CgroupDirs.KillAndRemoveAsync(terminal.Dirs[0], _logger)) return false;
        foreach (var dir in terminal.Dirs.Skip(1)) await CgroupDirs.RemoveEmptyAsync(dir);
        return true;
    }

    /// <summary>
    /// SIGKILLs every process in the cgroup until none is left (a process may fork while the list is read), then removes its
    /// directories. Returns false when something was still there after every round (left for the next start-up's sweep).
    /// </summary>
    public async Task<bool> KillAndRemoveAsync(AgentCgroup cgroup)
    {
        _running.TryRemove(new KeyValuePair<string, AgentCgroup>(cgroup.Agent, cgroup));
        return await RemoveAsync(cgroup);
    }

    private async Task<bool> RemoveAsync(AgentCgroup cgroup)
    {
        if (!await CgroupDirs.KillAndRemoveAsync(cgroup.Primary, _logger)) return false;
        foreach (var dir in cgroup.Dirs.Skip(1)) await CgroupDirs.RemoveEmptyAsync(dir);
        return true;
    }

    /// <summary>Ends whatever a previous life of this hive left running (the host itself was killed) and removes its cgroups.</summary>
    public async Task SweepLeftoversAsync()
    {
        if (_located is not { } tree) return;
        foreach (var root in tree.Dirs.Where(Directory.Exists))
        {
            try
            {
                foreach (var leftover in Directory.EnumerateDirectories(root))
                    if (root == tree.Primary) await CgroupDirs.KillAndRemoveAsync(leftover, _logger);
                    else await CgroupDirs.RemoveEmptyAsync(leftover);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("containers: could not sweep {Root}: {Why}", root, e.Message);
            }
        }
        RemoveRootsIfEmpty();
    }

    /// <summary>At the host's stop, after every agent was stopped: the hive's own directories go too.</summary>
    public void Dispose() => RemoveRootsIfEmpty();

    private void RemoveRootsIfEmpty()
    {
        foreach (var root in _located?.Dirs ?? []) CgroupDirs.TryDelete(root); // an agent's cgroup left keeps it
    }

    /// <summary>This hive's directories, made; null (and one warning) when the host may not use cgroups here.</summary>
    private CgroupTree? Prepare()
    {
        var why = _why;
        if (_located is { } tree)
        {
            try
            {
                Directory.CreateDirectory(tree.Primary);
                // Proves the host may move a process in, not only make directories: itself into its own cgroup (a no-op).
                File.AppendAllText(Path.Combine(Path.GetDirectoryName(tree.Primary)!, "cgroup.procs"), Environment.ProcessId.ToString());
                return tree with { Roots = Usable(tree) };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = $"cannot use {tree.Primary}: {e.Message}";
            }
        }
        _logger.LogWarning("containers: resource limits are OFF: agents run without a cgroup of their own, so no memory, CPU or pids caps, and the "
            + "process driver cannot hold a child that leaves its agent's process group ({Why})", why);
        return null;
    }

    /// <summary>The hierarchies whose directory could be made (and, under v2, whose controller reaches the agents' cgroups).</summary>
    private Dictionary<string, string> Usable(CgroupTree tree)
    {
        var usable = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tree.V2)
        {
            // Controllers must be handed down: from the host's cgroup to the hive's, and from the hive's to each agent's.
            foreach (var dir in new[] { Path.GetDirectoryName(tree.Primary)!, tree.Primary })
                foreach (var controller in new[] { CgroupTree.Memory, CgroupTree.Cpu, CgroupTree.Pids })
                    try { File.WriteAllText(Path.Combine(dir, "cgroup.subtree_control"), "+" + controller); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            var enabled = File.ReadAllText(Path.Combine(tree.Primary, "cgroup.subtree_control")).Split(' ', '\n');
            foreach (var (controller, root) in tree.Roots.Where(r => enabled.Contains(r.Key))) usable[controller] = root;
        }
        else
        {
            foreach (var (controller, root) in tree.Roots)
                try
                {
                    Directory.CreateDirectory(root);
                    usable[controller] = root;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _logger.LogWarning("containers: cannot use the {Controller} hierarchy ({Why}): no {Controller} limit or usage", controller, e.Message, controller);
                }
        }
        return usable;
    }
}

/// <summary>One terminal's cgroup: a directory beneath its agent's in each hierarchy, the membership one first.</summary>
internal sealed record TerminalCgroup(IReadOnlyList<string> Dirs)
{
    public string JoinList => string.Join(':', Dirs);
}
