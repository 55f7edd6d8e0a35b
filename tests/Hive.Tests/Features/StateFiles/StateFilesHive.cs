namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// The one hive the StateFiles tests share, with a <see cref="StateFileTree"/> planted in its data dir (alice's state
/// dir, shared/, files outside the roots, every kind of link). The tests read the tree; a test that plants more uses
/// names of its own and removes them.
/// </summary>
public sealed class StateFilesHive : HiveFixture
{
    public const string Name = "StateFiles";

    protected override string[] Agents => ["alice", "bob"];

    public StateFileTree Tree { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Tree = new StateFileTree(Hive.DataDir);
        // Warm both the success and the problem+json paths, so timings measure the allow-list, not the JIT.
        foreach (var path in new[] { "/shared/doc.md", "/etc/passwd" })
            (await Hive.Http.GetAsync("/api/state-file?path=" + Uri.EscapeDataString(path))).Dispose();
    }

    public override async Task DisposeAsync()
    {
        Tree?.Dispose();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(StateFilesHive.Name)]
public sealed class StateFilesCollection : ICollectionFixture<StateFilesHive>;
