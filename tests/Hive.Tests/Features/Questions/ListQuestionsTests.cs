using static Hive.Tests.Features.Questions.QuestionsHive;

namespace Hive.Tests.Features.Questions;

/// <summary>ListQuestions: the filters (all, operator, peer, one participant) and the snapshot's pending list.</summary>
[Collection(QuestionsHive.Name)]
public sealed class ListQuestionsTests(HiveFixture fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Filters_return_exactly_the_right_rows()
    {
        var names = await _hive.NewAgentsAsync("alice", "bob", "carol", "idle");
        var (aliceName, bobName, carolName, idleName) = (names[0], names[1], names[2], names[3]);
        await using var alice = await _hive.ConnectAsync(aliceName);
        await using var bob = await _hive.ConnectAsync(bobName);
        var aliceOp = await AskAsync(alice, "alice to operator");
        var aliceBob = await AskAsync(alice, "alice to bob", bobName);
        var bobOp = await AskAsync(bob, "bob to operator");
        var bobCarol = await AskAsync(bob, "bob to carol", carolName);
        using (await _hive.Http.PostAsJsonAsync($"/api/questions/{bobOp}/answer", new { answer = "done" })) { }
        long[] ours = [aliceOp, aliceBob, bobOp, bobCarol];

        // "pending ids | answered ids", for readable comparisons. The filters by agent see this test's agents only, so
        // they must match exactly; all, operator and peer also list other tests' questions: of those lists, this
        // test's rows must be exactly the expected ones, in order, and every row must pass the filter.
        async Task<string> Filter(string filter, bool oursOnly = false)
        {
            var result = await _hive.GetJsonAsync($"/api/questions?filter={filter}");
            foreach (var (list, answered) in new[] { (result.GetProperty("pending"), false), (result.GetProperty("answered"), true) })
                foreach (var q in list.EnumerateArray())
                {
                    Assert.Equal(answered, q.GetProperty("answer").ValueKind != JsonValueKind.Null);
                    if (filter == "operator") Assert.Equal(JsonValueKind.Null, q.GetProperty("target").ValueKind);
                    if (filter == "peer") Assert.NotEqual(JsonValueKind.Null, q.GetProperty("target").ValueKind);
                }
            string Ids(JsonElement list) => string.Join(",", list.EnumerateArray().Select(q => q.GetProperty("id").GetInt64()).Where(id => !oursOnly || ours.Contains(id)));
            return Ids(result.GetProperty("pending")) + "|" + Ids(result.GetProperty("answered"));
        }

        static string Expect(long[] pending, long[] answered) => string.Join(",", pending) + "|" + string.Join(",", answered);

        Assert.Equal(Expect([aliceOp, aliceBob, bobCarol], [bobOp]), await Filter("all", oursOnly: true));
        Assert.Equal(Expect([aliceOp], [bobOp]), await Filter("operator", oursOnly: true));
        Assert.Equal(Expect([aliceBob, bobCarol], []), await Filter("peer", oursOnly: true));
        Assert.Equal(Expect([aliceOp, aliceBob], []), await Filter(aliceName));
        Assert.Equal(Expect([aliceBob, bobCarol], [bobOp]), await Filter(bobName));
        Assert.Equal(Expect([bobCarol], []), await Filter(carolName));
        Assert.Equal(Expect([], []), await Filter(idleName));

        foreach (var badFilter in new[] { "Not%20A%20Name", "alice%0A", "-x", "operator%00" })
        {
            using var bad = await _hive.Http.GetAsync($"/api/questions?filter={badFilter}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }
        var state = await _hive.GetJsonAsync("/api/state");
        Assert.Equal([aliceOp, aliceBob, bobCarol],
            state.GetProperty("questions").GetProperty("pending").EnumerateArray().Select(q => q.GetProperty("id").GetInt64()).Where(ours.Contains));
    }
}
