"""Local in-memory emulator of the Apify and Nullspace template-build APIs (work in progress)."""
