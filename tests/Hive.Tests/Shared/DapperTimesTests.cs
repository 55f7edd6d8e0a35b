using Dapper;
using Hive.Shared.Data;
using Microsoft.Data.Sqlite;

namespace Hive.Tests.Shared;

/// <summary>Dapper and times: a DateTimeOffset parameter is written in the wire form, and a NULL read as DateTimeOffset? is null.</summary>
public sealed class DapperTimesTests : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public DapperTimesTests()
    {
        DapperSetup.Configure();
        _connection.Open();
    }

    [Fact]
    public void A_time_parameter_is_written_in_the_wire_form_nullable_or_not()
    {
        var time = new DateTimeOffset(2026, 11, 22, 20, 30, 0, 500, TimeSpan.FromHours(2));
        Assert.Equal("2026-11-22T18:30:00.500Z", _connection.QuerySingle<string>("SELECT @time", new { time }));
        Assert.Equal("2026-11-22T18:30:00.500Z", _connection.QuerySingle<string>("SELECT @time", new { time = (DateTimeOffset?)time }));
        Assert.Null(_connection.QuerySingle<string?>("SELECT @time", new { time = (DateTimeOffset?)null }));
    }

    [Fact]
    public void A_stored_time_reads_back_as_the_same_instant_and_null_as_null()
    {
        var time = new DateTimeOffset(2026, 11, 22, 9, 15, 0, 250, TimeSpan.Zero);
        Assert.Equal(time, _connection.QuerySingle<DateTimeOffset>("SELECT '2026-11-22T09:15:00.250Z'"));
        Assert.Equal(time, _connection.QuerySingle<DateTimeOffset?>("SELECT '2026-11-22T09:15:00.250Z'"));
        Assert.Null(_connection.QuerySingle<DateTimeOffset?>("SELECT NULL"));
        Assert.Null(_connection.ExecuteScalar<DateTimeOffset?>("SELECT NULL"));
    }

    public void Dispose() => _connection.Dispose();
}
