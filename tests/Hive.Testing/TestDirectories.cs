namespace Hive.Testing;

/// <summary>Removes a directory a test made under the shared <c>/tmp</c>.</summary>
public static class TestDirectories
{
    /// <summary>
    /// Deletes <paramref name="path"/> and all it holds, trying again for a few seconds while something that just ended (a
    /// killed host's agents writing their last log lines) still fills it: a single try left whole data dirs behind.
    /// </summary>
    public static async Task DeleteAsync(string path)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Task.Delay(100);
            }
        }
    }
}
