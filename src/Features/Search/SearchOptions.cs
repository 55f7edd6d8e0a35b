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
    /// How long the indexer waits after a wake before it reads: the texts stored meanwhile join its batch. Search lags the
    /// writes by about this much more; the writers pay far less for the index than with a batch per commit.
    /// </summary>
    public double DelayMs { get; set; } = 20;

    /// <summary>Source rows per indexing transaction: each holds the write lock for a few milliseconds.</summary>
    public int BatchSize { get; set; } = 500;
}
