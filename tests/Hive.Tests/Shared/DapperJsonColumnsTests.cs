using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>JSON text columns: a list or map is written as JSON and read back as itself, NULL stays null, and plain lists still expand for IN.</summary>
public sealed class DapperJsonColumnsTests : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public DapperJsonColumnsTests()
    {
        DapperSetup.Configure();
        DapperSetup.AddJsonColumn<Dictionary<string, long>>();
        DapperSetup.AddJsonColumn<string[]>();
        _connection.Open();
        _connection.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, list TEXT, map TEXT)");
    }

    private sealed class Row
    {
        public long Id { get; set; }
        public JsonList? List { get; set; }
        public JsonMap? Map { get; set; }
    }

    [Fact]
    public void A_list_and_a_map_are_stored_as_json_text_and_read_back()
    {
        _connection.Execute("INSERT INTO t (id, list, map) VALUES (1, @list, @map)",
            new { list = new JsonList(["bash", "-c", "echo \"hi\""]), map = new JsonMap(new Dictionary<string, string> { ["HOME"] = "home", ["A"] = "b" }) });

        Assert.Equal("""["bash","-c","echo \u0022hi\u0022"]""", _connection.QuerySingle<string>("SELECT list FROM t"));
        Assert.Equal("""{"HOME":"home","A":"b"}""", _connection.QuerySingle<string>("SELECT map FROM t"));
        var row = _connection.QuerySingle<Row>("SELECT id, list, map FROM t");
        Assert.Equal(["bash", "-c", "echo \"hi\""], row.List!);
        Assert.Equal("home", row.Map!["HOME"]);
        Assert.Equal(2, row.Map.Count);
    }

    [Fact]
    public void Null_is_written_and_read_as_null()
    {
        _connection.Execute("INSERT INTO t (id, list, map) VALUES (2, @list, @map)", new { list = (JsonList?)null, map = (JsonMap?)null });

        Assert.Equal(0, _connection.QuerySingle<long>("SELECT count(*) FROM t WHERE list IS NOT NULL OR map IS NOT NULL"));
        var row = _connection.QuerySingle<Row>("SELECT id, list, map FROM t");
        Assert.Null(row.List);
        Assert.Null(row.Map);
    }

    [Fact]
    public void A_plain_list_parameter_still_expands_for_in()
    {
        _connection.Execute("INSERT INTO t (id, list) VALUES (3, '[]'), (4, '[]'), (5, '[]')");

        Assert.Equal([3L, 5L], _connection.Query<long>("SELECT id FROM t WHERE id IN @ids ORDER BY id", new { ids = new[] { 3L, 5L } }));
        Assert.Equal(["[]"], _connection.Query<string>("SELECT list FROM t WHERE CAST(id AS TEXT) IN @names", new { names = (IReadOnlyList<string>)["4"] }));
    }

    private sealed record TypedRow(long Id, Json<Dictionary<string, long>>? List, Json<string[]>? Map);

    [Fact]
    public void A_json_column_is_read_as_its_type_through_a_record_constructor_and_null_stays_null()
    {
        _connection.Execute("""INSERT INTO t (id, list, map) VALUES (6, '{"bash":2,"read_file":1}', '["yes","no"]'), (7, NULL, NULL)""");

        var rows = _connection.Query<TypedRow>("SELECT id, list, map FROM t ORDER BY id").AsList();
        Assert.Equal(new Dictionary<string, long> { ["bash"] = 2, ["read_file"] = 1 }, rows[0].List!.Value);
        Assert.Equal(["yes", "no"], rows[0].Map!.Value!);
        Assert.Null(rows[1].List);
        Assert.Null(rows[1].Map);
    }

    public void Dispose() => _connection.Dispose();
}
