"""What the command centre reads: hidden-risk maps (H3, Gi*, emerging hot spots), the
measures per area (格内解决率, 按期结案率, 满意率), the landing figures, and the
offline map files."""
