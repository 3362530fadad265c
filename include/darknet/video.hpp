// Video frames in and out (detector demo), through OpenCV's videoio: OPENCV=1 builds only. In
// other builds every function throws dn::Error saying so.
#pragma once

#include <memory>
#include <string>

#include "darknet/image.hpp"

namespace dn {

/// True when this build reads and writes video (OPENCV=1).
bool have_video();

/// Frames of a video file, or of camera `camera` when path is empty (Darknet's -c N).
class VideoSource {
public:
    /// Opens the file or camera; throws dn::Error naming it when OpenCV cannot.
    VideoSource(const std::string& path, int camera = 0);
    ~VideoSource();
    VideoSource(const VideoSource&) = delete;
    VideoSource& operator=(const VideoSource&) = delete;
    /// The next frame as an RGB image (values 0..1, CHW); false at the end of the video.
    bool read(Image* frame);
    double fps() const;  ///< the container's frame rate (0 when unknown)
    const std::string& name() const { return name_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string name_;
};

/// A video file written frame by frame (Motion-JPEG in AVI, as AlexeyAB's -out_filename).
class VideoSink {
public:
    /// Creates `path` for w x h frames at `fps`; throws dn::Error when OpenCV cannot.
    VideoSink(const std::string& path, int w, int h, double fps);
    ~VideoSink();
    VideoSink(const VideoSink&) = delete;
    VideoSink& operator=(const VideoSink&) = delete;
    /// Appends a 3-channel frame of the sink's size (values clipped to 0..1).
    void write(const Image& frame);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string path_;
};

/// Shows a 3-channel image in window `title` and waits `ms` ms for a key: returns the key (-1:
/// none). Throws dn::Error when no display can be opened (use -dont_show).
int show_image(const Image& im, const std::string& title, int ms);

}  // namespace dn
