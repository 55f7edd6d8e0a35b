using Hive.Tests.Features.Forge;
using static Hive.Tests.Features.Work.WorkKit;

namespace Hive.Tests.Features.Work;

/// <summary>
/// A workflow naming a repository is loaded only when the hive can reach it: on the forge, with no forge configured, or a
/// repository the forge does not have; a plain one (a path) that git cannot reach or that lies in the data dir; <c>PUT /api/workflows/{name}</c> is a 400 problem+json saying why (nothing written), and a file
/// in the meta repo is refused at load (logged, not loaded, listed in the workflows view's errors) across a restart.
/// </summary>
public sealed class WorkflowRepositoryTests
{
    private static string Yaml(string name, string repository) => $"""
        name: {name}
        repository: {repository}
        phases:
          - name: backlog
            allowed_transitions: [build]
          - name: build
            needs: [code]
            allowed_transitions: [done]
          - name: done
            terminal: true
        """;

    private static bool Loaded(JsonElement workflows, string name) =>
        workflows.GetProperty("workflows").EnumerateArray().Any(w => w.GetProperty("name").GetString() == name);

    [Fact]
    public async Task With_no_forge_a_workflow_naming_a_repository_is_refused_by_put_and_at_load()
    {
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        var (status, problem) = await hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/project", new { yaml = Yaml("project", "acme/project") });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("repository acme/project: no forge is configured here (Hive:Forge:Url is empty)", problem.GetProperty("detail").GetString());
        Assert.Contains("no forge is configured", problem.GetProperty("errors").GetProperty("repository")[0].GetString());
        Assert.False(Loaded(await hive.GetJsonAsync("/api/workflows"), "project"));
        Assert.False(File.Exists(Path.Combine(hive.DataDir, "meta", "workflows", "project.yaml")));

        // The same file put in the meta repo by hand: at the next start it is refused with its line, not loaded.
        await hive.RestartAsync(whileDown: () => File.WriteAllText(Path.Combine(hive.DataDir, "meta", "workflows", "project.yaml"), Yaml("project", "acme/project")));
        var view = await hive.GetJsonAsync("/api/workflows");
        Assert.False(Loaded(view, "project"));
        var error = view.GetProperty("errors").EnumerateArray().Single(e => e.GetProperty("file").GetString() == "project.yaml");
        Assert.Equal(2, error.GetProperty("line").GetInt64());
        Assert.Contains("repository acme/project: no forge is configured here", error.GetProperty("reason").GetString());
        Assert.False(error.GetProperty("kept").GetBoolean());
    }

    [Fact]
    public async Task On_a_forge_a_known_repository_is_accepted_and_an_unknown_one_refused()
    {
        await using var f = await ForgeHive.StartAsync([],
            forge => forge.AddRepo("acme", "project", new Dictionary<string, string> { ["README.md"] = "hello\n" }));
        var (status, problem) = await f.Hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/missing", new { yaml = Yaml("missing", "acme/nothing") });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("has no repository acme/nothing", problem.GetProperty("detail").GetString());
        Assert.False(Loaded(await f.Hive.GetJsonAsync("/api/workflows"), "missing"));

        await f.Hive.PutWorkflowAsync("project", Yaml("project", "acme/project"));
        Assert.True(Loaded(await f.Hive.GetJsonAsync("/api/workflows"), "project"));
    }

    [Fact]
    public async Task A_plain_repository_is_accepted_when_git_reaches_it_and_refused_with_why_when_not()
    {
        await using var repository = LocalRepository.Create(new Dictionary<string, string> { ["README.md"] = "hello\n" });
        await using var hive = await HiveInstance.StartAsync(["alice"]);
        var missing = repository.Path + "-missing";
        foreach (var (address, reason) in new[]
        {
            (missing, "git cannot reach it"),
            (Path.Combine(hive.DataDir, "meta"), "inside the hive's data dir"), // a git repository, and agents' dirs are its neighbours
            ("ssh://git@example.com/acme/project.git", "ssh URLs are not taken"),
        })
        {
            var (status, problem) = await hive.SendJsonAsync(HttpMethod.Put, "/api/workflows/project", new { yaml = Yaml("project", address) });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(reason, problem.GetProperty("detail").GetString());
            Assert.False(Loaded(await hive.GetJsonAsync("/api/workflows"), "project"));
        }
        Assert.False(File.Exists(Path.Combine(hive.DataDir, "meta", "workflows", "project.yaml")));

        await hive.PutWorkflowAsync("project", Yaml("project", repository.Path));
        var loaded = (await hive.GetJsonAsync("/api/workflows")).GetProperty("workflows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "project");
        Assert.Equal(repository.Path, loaded.GetProperty("repository").GetString());

        // A file edited by hand to name a path git cannot reach is refused at the next start, its last good version kept.
        await hive.RestartAsync(whileDown: () => File.WriteAllText(Path.Combine(hive.DataDir, "meta", "workflows", "project.yaml"), Yaml("project", missing)));
        var view = await hive.GetJsonAsync("/api/workflows");
        var error = view.GetProperty("errors").EnumerateArray().Single(e => e.GetProperty("file").GetString() == "project.yaml");
        Assert.Equal(2, error.GetProperty("line").GetInt64());
        Assert.Contains($"repository {missing}: git cannot reach it", error.GetProperty("reason").GetString());
        Assert.True(error.GetProperty("kept").GetBoolean());
        Assert.Equal(repository.Path, view.GetProperty("workflows").EnumerateArray().Single(w => w.GetProperty("name").GetString() == "project").GetProperty("repository").GetString());
    }
}
