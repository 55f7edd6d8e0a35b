namespace Hive.Features.Search;

/// <summary>The <c>Hive:Search</c> section.</summary>
public sealed class SearchOptions
{
    /// <summary>
    /// False stops the indexer: nothing new becomes searchable (search answers with what is indexed and says how far behind
    /// it is) until a host starts with it true again, which then reads everything it missed. For a bulk import, or a test.
    /// </summary>
    public bool Indexing { get; set; } = true;

    /// <summary>
    /// How long the writers must have been quiet before the indexer reads: the texts stored meanwhile join its batch, and a
    /// burst of sends is indexed after it rather than while it runs. Search lags an idle host's writes by about this much.
    /// </summary>
    public double DelayMs { get; set; } = 20;

    /// <summary>The longest the indexer waits out a burst: search falls behind a sustained burst by about this much.</summary>
    public double MaxDelayMs { get; set; } = 2000;

    /// <summary>Source rows per indexing transaction: each holds the write lock for a few milliseconds.</summary>
    public int BatchSize { get; set; } = 500;
}
